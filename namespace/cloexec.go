package namespace

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// cloexecFrom marks every fd >= minFd close-on-exec: close_range(CLOSE_RANGE_CLOEXEC),
// or, where that is refused (a seccomp profile written before close_range existed
// returns EPERM; kernels < 5.11 ENOSYS or EINVAL), fcntl on each fd listed in
// /proc/self/fd.
func cloexecFrom(minFd int) error {
	err := unix.CloseRange(uint(minFd), ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("close_range: %w", err)
	}
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("mark fds close-on-exec: %w", err)
	}
	names, err := d.Readdirnames(-1)
	dirFd := int(d.Fd())
	if err != nil {
		d.Close()
		return fmt.Errorf("mark fds close-on-exec: %w", err)
	}
	for _, n := range names {
		fd, err := strconv.Atoi(n)
		if err != nil || fd < minFd || fd == dirFd {
			continue
		}
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil && !errors.Is(err, unix.EBADF) {
			d.Close()
			return fmt.Errorf("mark fd %d close-on-exec: %w", fd, err)
		}
	}
	return d.Close()
}
