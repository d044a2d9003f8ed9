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

// InitBinaryEnv names the environment variable through which [SetInitBinary]'s choice
// reaches the programs this one re-executes (a monitor, a restart helper): they use
// the same init binary.
const InitBinaryEnv = "_SKIFF_INIT_BINARY"

var initExe struct {
	mu     sync.Mutex
	path   string              // SetInitBinary's path; "" means this program
	sealed map[string]*os.File // by path ("" for this program), opened once
}

// SetInitBinary makes every later [Create], [Exec] and [NewWarm] of this process run
// the program at path, instead of this program re-executed, as the container init and
// the exec helper. path must be an absolute path of a program whose main calls [Init]
// first thing, built from the same Skiff version as this program (examples/skiff-nsinit
// is one): a program that imports only this package reaches [Init] in a fraction of
// the time a large embedder does, since Go runs every linked package's init before
// main. An init of another version is refused at its first container, naming both
// protocol versions. An empty path goes back to this program.
//
// The choice is process-wide, and passed on to programs re-executed from this one
// through [InitBinaryEnv]. It is checked and sealed at once (as this program's binary
// is, see sealedExe): an error names the path.
func SetInitBinary(path string) error {
	if path != "" {
		if !filepath.IsAbs(path) {
			return fmt.Errorf("%w: init binary %q: not an absolute path", ErrInvalidSpec, path)
		}
		st, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("%w: init binary: %w", ErrInvalidSpec, err)
		}
		if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
			return fmt.Errorf("%w: init binary %s: not an executable file", ErrInvalidSpec, path)
		}
		if _, err := sealExe(path); err != nil {
			return err
		}
	}
	initExe.mu.Lock()
	initExe.path = path
	initExe.mu.Unlock()
	if path == "" {
		return os.Unsetenv(InitBinaryEnv)
	}
	return os.Setenv(InitBinaryEnv, path)
}

// UseInitBinaryBeside calls [SetInitBinary] with the program named name in this
// program's directory if there is one, and returns its path ("" and no error when
// there is none): how a program and its init binary installed side by side find each
// other (examples/skiff finds skiff-nsinit so).
func UseInitBinaryBeside(name string) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", nil
	}
	path := filepath.Join(filepath.Dir(exe), name)
	if _, err := os.Stat(path); err != nil {
		return "", nil
	}
	return path, SetInitBinary(path)
}

// InitBinary returns the program containers' inits run from: [SetInitBinary]'s path,
// or the one inherited through [InitBinaryEnv], or "" for this program.
func InitBinary() string {
	initExe.mu.Lock()
	defer initExe.mu.Unlock()
	if initExe.path != "" {
		return initExe.path
	}
	return os.Getenv(InitBinaryEnv)
}

// sealedExe returns an fd of the init binary (see InitBinary) that nobody can write
// through (CVE-2019-5736: a container must not be able to overwrite the binary that
// runs as its init), made once per process and binary and shared by every Create. The
// returned file must not be closed.
func sealedExe() (*os.File, error) {
	return sealExe(InitBinary())
}

// sealExe returns the sealed fd of the binary at path ("" for this program), opening
// it on first use.
//
// The first choice is the binary seen through a private read-only overlayfs mount of
// its directory: the mount is never attached anywhere (fsmount without move_mount),
// writes through it fail with EROFS, and it costs ~0.1 ms whatever the binary's size,
// where a copy costs milliseconds per 10 MB at every start of a short-lived program
// (the CLI). Where that is not possible (a deleted binary, no new mount API, no
// CAP_SYS_ADMIN) the binary is copied into a sealed memfd, as runc does.
func sealExe(path string) (*os.File, error) {
	initExe.mu.Lock()
	defer initExe.mu.Unlock()
	if f := initExe.sealed[path]; f != nil {
		return f, nil
	}
	f, err := overlayExeOf(path)
	if err != nil {
		f, err = cloneExe(path)
	}
	if err != nil {
		if path != "" {
			err = fmt.Errorf("init binary %s: %w", path, err)
		}
		return nil, err
	}
	if initExe.sealed == nil {
		initExe.sealed = map[string]*os.File{}
	}
	initExe.sealed[path] = f
	return f, nil
}

// overlayExe is overlayExeOf for this program.
func overlayExe() (*os.File, error) { return overlayExeOf("") }

// cloneSelfExe is cloneExe for this program.
func cloneSelfExe() (*os.File, error) { return cloneExe("") }

// overlayExeOf opens the binary at path (this program's for "") O_PATH through a
// detached, read-only overlayfs of its directory (an empty detached tmpfs as the
// second lower layer: an overlay without an upper dir needs two).
func overlayExeOf(path string) (*os.File, error) {
	var self os.FileInfo
	if path == "" {
		var err error
		if path, err = os.Readlink("/proc/self/exe"); err != nil {
			return nil, err
		}
		if self, err = os.Stat("/proc/self/exe"); err != nil {
			return nil, err
		}
		// The path must still name the running file (not deleted, not replaced).
		if named, err := os.Stat(path); err != nil || !os.SameFile(self, named) {
			return nil, fmt.Errorf("seal exe: %s is no longer the running binary", path)
		}
	} else {
		var err error
		if self, err = os.Stat(path); err != nil {
			return nil, fmt.Errorf("seal exe: %w", err)
		}
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
		return nil, fmt.Errorf("seal exe: %s through the overlay is not the same file", path)
	}
	return f, nil
}

// cloneExe copies the binary at path (/proc/self/exe for "") into a new memfd, seals
// it (CVE-2019-5736) and returns it reopened read-only.
func cloneExe(path string) (*os.File, error) {
	if path == "" {
		path = "/proc/self/exe"
	}
	src, err := os.Open(path)
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
		return nil, fmt.Errorf("seal exe: copy %s to memfd: %w", path, err)
	}
	if n != st.Size() {
		return nil, fmt.Errorf("seal exe: copied %d of %d bytes of %s", n, st.Size(), path)
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
