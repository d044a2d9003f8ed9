package skiff

import (
	"path/filepath"

	"github.com/skiffrt/skiff/internal/lockfile"
)

// lockRoot takes the engine root's exclusive lock (across processes), waiting for its
// holder, and returns its release. Create holds it while it makes a container's dir,
// Check and the collection of layers while they look at every container's.
func (e *Engine) lockRoot() (func(), error) {
	l, err := lockfile.Acquire(nil, filepath.Join(e.root, ".lock"), lockfile.Exclusive)
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
