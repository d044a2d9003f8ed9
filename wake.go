package skiff

import "github.com/skiffrt/skiff/internal/dirwatch"

// dirWatch wakes a waiter when a container's directory changes — state.json replaced,
// the log appended to, the directory removed — so Wait and Logs -f of a container owned
// by another process react at once instead of on a polling tick.
type dirWatch = dirwatch.Watch

// watchDir watches dir; nil (no error) when inotify is unavailable: the waiter then
// simply naps.
func watchDir(dir string) *dirWatch { return dirwatch.New(dir) }
