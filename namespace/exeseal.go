package namespace

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// The seals that make the memfd immutable: no write, no resize, no new seals.
const exeSeals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW |
	unix.F_SEAL_WRITE | unix.F_SEAL_FUTURE_WRITE

var sealed struct {
	once sync.Once
	f    *os.File
	err  error
}

// sealedExe returns an fd of this program's binary that nobody can write through
// (CVE-2019-5736: a container must not be able to overwrite the binary that runs as
// its init), made once per process and shared by every Create. The returned file must
// not be closed.
//
// The first choice is the binary seen through a private read-only overlayfs mount of
// its directory: the mount is never attached anywhere (fsmount without move_mount),
// writes through it fail with EROFS, and it costs ~0.1 ms whatever the binary's size,
// where a copy costs milliseconds per 10 MB at every start of a short-lived program
// (the CLI). Where that is not possible (a deleted binary, no new mount API, no
// CAP_SYS_ADMIN) the binary is copied into a sealed memfd, as runc does.
func sealedExe() (*os.File, error) {
	sealed.once.Do(func() {
		sealed.f, sealed.err = overlayExe()
		if sealed.err != nil {
			sealed.f, sealed.err = cloneSelfExe()
		}
	})
	return sealed.f, sealed.err
}

// overlayExe opens /proc/self/exe's file O_PATH through a detached, read-only
// overlayfs of its directory (an empty detached tmpfs as the second lower layer: an
// overlay without an upper dir needs two).
func overlayExe() (*os.File, error) {
	path, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return nil, err
	}
	self, err := os.Stat("/proc/self/exe")
	if err != nil {
		return nil, err
	}
	// The path must still name the running file (not deleted, not replaced).
	if named, err := os.Stat(path); err != nil || !os.SameFile(self, named) {
		return nil, fmt.Errorf("seal exe: %s is no longer the running binary", path)
	}
	dir, base := filepath.Split(path)
	detached := func(fstype string, conf func(fd int) error) (int, error) {
		fs, err := unix.Fsopen(fstype, unix.FSOPEN_CLOEXEC)
		if err != nil {
			return -1, fmt.Errorf("fsopen %s: %w", fstype, err)
		}
		defer unix.Close(fs)
		if err := conf(fs); err != nil {
			return -1, err
		}
		if err := unix.FsconfigCreate(fs); err != nil {
			return -1, fmt.Errorf("fsconfig create %s: %w", fstype, err)
		}
		m, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOSUID)
		if err != nil {
			return -1, fmt.Errorf("fsmount %s: %w", fstype, err)
		}
		return m, nil
	}
	empty, err := detached("tmpfs", func(int) error { return nil })
	if err != nil {
		return nil, err
	}
	defer unix.Close(empty)
	ovl, err := detached("overlay", func(fs int) error {
		for _, l := range []string{dir, "/proc/self/fd/" + strconv.Itoa(empty)} {
			if err := unix.FsconfigSetString(fs, "lowerdir+", l); err != nil {
				return fmt.Errorf("fsconfig lowerdir+ %s: %w", l, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	defer unix.Close(ovl)
	fd, err := unix.Openat(ovl, base, unix.O_PATH|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("seal exe: open %s in its read-only overlay: %w", base, err)
	}
	f := os.NewFile(uintptr(fd), "overlay:"+base)
	if seen, err := f.Stat(); err != nil || seen.Size() != self.Size() {
		f.Close()
		return nil, fmt.Errorf("seal exe: %s through the overlay is not the running binary", path)
	}
	return f, nil
}

// cloneSelfExe copies /proc/self/exe into a new memfd, seals it (CVE-2019-5736) and
// returns it reopened read-only.
func cloneSelfExe() (*os.File, error) {
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("seal exe: %w", err)
	}
	defer src.Close()
	fd, err := unix.MemfdCreate("skiff-init", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("seal exe: memfd_create: %w", err)
	}
	mem := os.NewFile(uintptr(fd), "memfd:skiff-init")
	defer mem.Close()
	st, err := src.Stat()
	if err != nil {
		return nil, fmt.Errorf("seal exe: %w", err)
	}
	n, err := copyExe(mem, src, st.Size())
	if err != nil {
		return nil, fmt.Errorf("seal exe: copy /proc/self/exe to memfd: %w", err)
	}
	if n != st.Size() {
		return nil, fmt.Errorf("seal exe: copied %d of %d bytes of /proc/self/exe", n, st.Size())
	}
	if _, err := unix.FcntlInt(mem.Fd(), unix.F_ADD_SEALS, exeSeals); err != nil {
		return nil, fmt.Errorf("seal exe: F_ADD_SEALS: %w", err)
	}
	// Reopen read-only so no writable fd of the copy remains anywhere.
	ro, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(int(mem.Fd())), os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("seal exe: reopen memfd read-only: %w", err)
	}
	return ro, nil
}

// copyExe copies size bytes of src into the empty memfd dst. copy_file_range refuses
// to cross from the binary's filesystem into a memfd (EXDEV), and io.Copy then falls
// back to 32 KiB reads and writes: a thousand system calls for a 20 MB program on
// every container start. sendfile does it in the kernel in one or two calls.
func copyExe(dst, src *os.File, size int64) (int64, error) {
	var off int64
	for off < size {
		n, err := unix.Sendfile(int(dst.Fd()), int(src.Fd()), &off, int(size-off))
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		if err != nil {
			if off == 0 {
				return io.Copy(dst, src) // sendfile unsupported: the slow way
			}
			return off, err
		}
		if n == 0 {
			break
		}
	}
	return off, nil
}
