package skiff

import (
	"os"
	"regexp"
	"sync"

	"github.com/skiffrt/skiff/namespace"
)

// Init must be the first call in the main function of every program that embeds
// Skiff (and in TestMain of every test binary that starts containers).
//
// Skiff starts a container's init by re-executing the running binary; in that child,
// Init runs the container's setup (mounts, pivot_root, hostname, user) and never
// returns. In the normal program it returns at once.
//
// Every package-level variable of the binary is initialised before Init runs, in every
// container init, exec helper and monitor too: Skiff's packages build no table and
// compile no regexp at package init (TestInitTrace holds them to that).
func Init() {
	namespace.Init()
	if isMonitor() {
		os.Exit(runMonitor())
	}
}

// lazyRegexp is a regexp compiled on first use rather than at package init.
type lazyRegexp struct{ re func() *regexp.Regexp }

func newLazyRegexp(expr string) lazyRegexp {
	return lazyRegexp{sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })}
}

// MatchString reports whether s matches the regexp.
func (l lazyRegexp) MatchString(s string) bool { return l.re().MatchString(s) }
