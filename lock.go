package skiff

import (
	"github.com/skiffrt/skiff/internal/lockfile"
)

// flock takes an exclusive lock on path (created if missing), waiting for other
// holders, and returns its release.
func flock(path string) (func(), error) {
	l, err := lockfile.Acquire(nil, path, lockfile.Exclusive)
	if err != nil {
		return nil, err
	}
	return l.Unlock, nil
}

// lockOp takes the container's lifecycle lock (see containerStore.lockOp).
func (e *Engine) lockOp(id string) (func(), error) {
	l, err := e.ctrs.lockOp(id)
	if err != nil {
		return nil, err
	}
	return l.Unlock, nil
}
