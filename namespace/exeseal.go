package namespace

import (
	"fmt"
	"io"
	"os"
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

// sealedExe returns a read-only fd of a sealed memfd copy of /proc/self/exe, made once
// per process and shared by every Create (the copy costs a few ms per MiB of binary).
// The returned file must not be closed.
func sealedExe() (*os.File, error) {
	sealed.once.Do(func() { sealed.f, sealed.err = cloneSelfExe() })
	return sealed.f, sealed.err
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
