package skiff

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// spool copies r into an unnamed file of the engine root (O_TMPFILE: a process killed
// meanwhile leaves nothing behind) and returns it with a path that opens it again, as
// readers that reopen by path need (go-containerregistry's tarball package). The caller
// closes the file when done; the path is valid until then.
func (e *Engine) spool(ctx context.Context, r io.Reader) (*os.File, string, error) {
	fd, err := unix.Open(e.root, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	var f *os.File
	if err == nil {
		f = os.NewFile(uintptr(fd), e.root+"/(spool)")
	} else {
		// A filesystem without O_TMPFILE: a named temp, unlinked at once.
		if f, err = os.CreateTemp(e.root, ".tmp-spool-"); err != nil {
			return nil, "", fmt.Errorf("spool in %s: %w", e.root, err)
		}
		os.Remove(f.Name())
	}
	if _, err := io.Copy(f, readerCtx{ctx, r}); err != nil {
		f.Close()
		return nil, "", fmt.Errorf("spool in %s: %w", e.root, err)
	}
	return f, "/proc/self/fd/" + strconv.Itoa(int(f.Fd())), nil
}
