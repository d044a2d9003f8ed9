package skiff

import (
	"errors"
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

// lockOp serialises the lifecycle steps that check a container's state and then act on
// it (Start, Restart, Delete) across processes: two starts of one container, or a
// delete racing a start, would otherwise both act on the same stale state. It is a
// different lock from the state lock, which the monitor takes to record an exit while a
// Delete holding this one waits for that exit.
func (e *Engine) lockOp(id string) (func(), error) {
	unlock, err := flock(filepath.Join(e.containerDir(id), "op.lock"))
	if err != nil && errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, shortID(id))
	}
	return unlock, err
}
