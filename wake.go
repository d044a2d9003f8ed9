package skiff

import (
	"context"
	"time"

	"golang.org/x/sys/unix"
)

// dirWatch wakes a waiter when a container's directory changes — state.json replaced,
// the log appended to, the directory removed — so Wait and Logs -f of a container owned
// by another process react at once instead of on a polling tick.
type dirWatch struct{ fd int }

// watchDir watches dir; nil (no error) when inotify is unavailable: the waiter then
// simply naps.
func watchDir(dir string) *dirWatch {
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
	return &dirWatch{fd: fd}
}

// wait returns after the next change in the directory, when ctx ends, or after max.
func (w *dirWatch) wait(ctx context.Context, max time.Duration) {
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
		n, err := unix.Poll(fds, int(slice/time.Millisecond)+1)
		if err == nil && n > 0 {
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

func (w *dirWatch) close() {
	if w != nil {
		unix.Close(w.fd)
	}
}
