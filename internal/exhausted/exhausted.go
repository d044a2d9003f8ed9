// Package exhausted marks errors of a full file system or an exhausted file descriptor
// table with the tree's sentinels, so that a caller tells them from other I/O errors
// with errors.Is and skiffd answers them in Docker's words. The registry, overlay,
// builder and engine packages re-export the sentinels; the error text stays the
// underlying error's, which names the path (an *os.PathError) and the errno.
package exhausted

import (
	"errors"
	"syscall"

	"github.com/skiffrt/skiff/errdefs"
)

// The sentinels, of class errdefs.ErrResourceExhausted.
var (
	// ErrNoSpace: a write found its file system full (ENOSPC) or over quota (EDQUOT).
	ErrNoSpace = errdefs.New(errdefs.ErrResourceExhausted, "no space left on device")
	// ErrTooManyFiles: the process (EMFILE) or the system (ENFILE) has no file
	// descriptor left.
	ErrTooManyFiles = errdefs.New(errdefs.ErrResourceExhausted, "too many open files")
)

// Mark returns err marked with ErrNoSpace or ErrTooManyFiles when its chain holds the
// matching errno and not yet the sentinel, and err unchanged otherwise (nil stays nil).
// The marked error's text is err's.
func Mark(err error) error {
	var class error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNoSpace), errors.Is(err, ErrTooManyFiles):
		return err
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		class = ErrNoSpace
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		class = ErrTooManyFiles
	default:
		return err
	}
	return &marked{err: err, class: class}
}

type marked struct{ err, class error }

func (m *marked) Error() string   { return m.err.Error() }
func (m *marked) Unwrap() []error { return []error{m.class, m.err} }
