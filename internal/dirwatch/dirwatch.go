// Package dirwatch wakes a waiter when a directory changes (a file created, written,
// renamed into it, or the directory itself removed), so that what another process does
// on the engine root is seen at once instead of on a polling tick.
package dirwatch

import (
	"context"
	"time"

	"golang.org/x/sys/unix"
)

// Watch is an inotify watch of one directory. A nil *Watch is valid: Wait then naps.
type Watch struct{ fd int }

// New watches dir; it returns nil (no error) when inotify is unavailable, and the
// waiter then simply naps.
func New(dir string) *Watch {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil
	}
	const mask = unix.IN_MOVED_TO | unix.IN_MODIFY | unix.IN_CLOSE_WRITE | unix.IN_CREATE |
		unix.IN_DELETE_SELF | unix.IN_MOVE_SELF
	if _, err := unix.InotifyAddWatch(fd, dir, mask); err != nil {
		unix.Close(fd)
		return nil
	}
	return &Watch{fd: fd}
}

// Wait returns after the next change in the directory, when ctx ends, or after max.
func (w *Watch) Wait(ctx context.Context, max time.Duration) {
	deadline := time.Now().Add(max)
	for ctx.Err() == nil {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		slice := min(left, 50*time.Millisecond) // look at ctx this often
		if w == nil {
			time.Sleep(slice)
			continue
		}
		fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}}
		if n, err := unix.Poll(fds, int(slice/time.Millisecond)+1); err == nil && n > 0 {
			var buf [4096]byte
			for { // drain: one wake-up per burst of events
				if n, err := unix.Read(w.fd, buf[:]); n <= 0 || err != nil {
					break
				}
			}
			return
		}
	}
}

// Close ends the watch. It is safe on nil.
func (w *Watch) Close() {
	if w != nil {
		unix.Close(w.fd)
	}
}
