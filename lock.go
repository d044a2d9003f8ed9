package skiff

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// flock takes an exclusive lock on path (created if missing) and returns its release.
func flock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// updateState applies fn to the container's persisted state under the container's
// lock, so the process that started a container and the monitor that reaps it never
// overwrite each other's step. fn returning an error leaves the state as it was.
func (e *Engine) updateState(id string, fn func(*State) error) (*State, error) {
	unlock, err := flock(filepath.Join(e.containerDir(id), "lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	st, err := e.loadState(id)
	if err != nil {
		return nil, err
	}
	if err := fn(st); err != nil {
		return st, err
	}
	return st, e.saveState(st)
}
