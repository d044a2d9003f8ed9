package skiff

import (
	"os"

	"github.com/skiffrt/skiff/namespace"
)

// Init must be the first call in the main function of every program that embeds
// Skiff (and in TestMain of every test binary that starts containers).
//
// Skiff starts a container's init by re-executing the running binary; in that child,
// Init runs the container's setup (mounts, pivot_root, hostname, user) and never
// returns. In the normal program it returns at once.
func Init() {
	namespace.Init()
	if isMonitor() {
		os.Exit(runMonitor())
	}
}
