// Package lockfile is the one flock helper of the tree. A lock is an open file
// description holding flock(2) on a path; closing it (or the death of the process)
// drops the lock, so a lock never outlives its holder. Locks are advisory and work
// across processes and between goroutines of one process alike (each Lock opens its
// own file description).
//
// The same mechanism tells whether a temp file or dir is abandoned: its writer holds
// it locked while it works, so [Abandoned] getting the lock means the writer is gone.
package lockfile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// ErrLocked is returned by TryLock when another holder has the lock.
var ErrLocked = errors.New("locked by another process")

// Mode is shared or exclusive.
type Mode int

const (
	// Exclusive admits one holder.
	Exclusive Mode = iota
	// Shared admits any number of shared holders and no exclusive one.
	Shared
)

func (m Mode) how() int {
	if m == Shared {
		return unix.LOCK_SH
	}
	return unix.LOCK_EX
}

// Lock is a held flock. Its zero value is not usable; get one from Lock or TryLock.
type Lock struct{ f *os.File }

// Unlock drops the lock. It is safe to call more than once and on nil.
func (l *Lock) Unlock() {
	if l != nil && l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

func open(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil && errors.Is(err, unix.EISDIR) {
		f, err = os.OpenFile(path, os.O_RDONLY|unix.O_CLOEXEC|unix.O_DIRECTORY, 0)
	}
	return f, err
}

// TryLock takes path (created if missing; a directory is locked as it is) in mode m
// without waiting. It returns ErrLocked when another holder has it.
func TryLock(path string, m Mode) (*Lock, error) {
	f, err := open(path)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	for {
		err = unix.Flock(int(f.Fd()), m.how()|unix.LOCK_NB)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock %s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &Lock{f: f}, nil
}

// Acquire takes path (created if missing) in mode m, waiting for other holders until ctx
// ends. A nil ctx waits without end.
func Acquire(ctx context.Context, path string, m Mode) (*Lock, error) {
	if ctx == nil || ctx.Done() == nil {
		// Nothing can cancel the wait: block in the kernel.
		f, err := open(path)
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		for {
			err = unix.Flock(int(f.Fd()), m.how())
			if err != unix.EINTR {
				break
			}
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		return &Lock{f: f}, nil
	}
	delay := 500 * time.Microsecond
	for {
		l, err := TryLock(path, m)
		if !errors.Is(err, ErrLocked) {
			return l, err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
		case <-t.C:
		}
		if delay < 20*time.Millisecond {
			delay *= 2
		}
	}
}

// Abandoned reports whether path (a temp file or dir whose writer holds it locked
// while it works) has no live writer. A path that no longer exists is not abandoned.
func Abandoned(path string) bool {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err != unix.EINTR {
			break
		}
	}
	return err == nil
}

// Hold locks an open file or directory that the caller keeps open while it works on
// it, marking it as in use for Abandoned. The lock goes with the file's close.
func Hold(f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err != unix.EINTR {
			return err
		}
	}
}

// Removable locks: a lock file that stands for an object (one per layer, say) would
// pile up once its object is gone, so its exclusive holder may delete it with Remove.
// A process that opened the file before the removal may then get the flock on a file
// no path names any more; TryLockRemovable and AcquireRemovable notice that (the path
// names another file, or none) and lock the path's new file instead. Every locker of
// such a path must use them.

// TryLockRemovable is TryLock for a lock file that its holders may Remove.
func TryLockRemovable(path string, m Mode) (*Lock, error) {
	for {
		l, err := TryLock(path, m)
		if err != nil || l.current(path) {
			return l, err
		}
		l.Unlock()
	}
}

// AcquireRemovable is Acquire for a lock file that its holders may Remove.
func AcquireRemovable(ctx context.Context, path string, m Mode) (*Lock, error) {
	for {
		l, err := Acquire(ctx, path, m)
		if err != nil || l.current(path) {
			return l, err
		}
		l.Unlock()
	}
}

// Remove deletes the lock file at path, which l holds exclusively (from TryLockRemovable
// or AcquireRemovable), and drops the lock. A missing file is not an error.
func (l *Lock) Remove(path string) error {
	defer l.Unlock()
	if l == nil || l.f == nil {
		return fmt.Errorf("remove lock %s: not held", path)
	}
	if !l.current(path) {
		return nil // removed already; the path may name another holder's file
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove lock %s: %w", path, err)
	}
	return nil
}

// current reports whether path still names the file l holds.
func (l *Lock) current(path string) bool {
	var held, named unix.Stat_t
	if unix.Fstat(int(l.f.Fd()), &held) != nil || unix.Stat(path, &named) != nil {
		return false
	}
	return held.Dev == named.Dev && held.Ino == named.Ino
}
