package cgroup

import (
	"fmt"

	"github.com/skiffrt/skiff/errdefs"
)

var (
	// ErrNotExist means the cgroup does not exist (in any hierarchy).
	ErrNotExist = errdefs.New(errdefs.ErrNotFound, "cgroup does not exist")
	// ErrInvalidPath means a cgroup path is not absolute, not clean, or is the root.
	ErrInvalidPath = errdefs.New(errdefs.ErrInvalidArgument, "invalid cgroup path")
	// ErrInvalidResources means a Resources value is out of range or inconsistent.
	ErrInvalidResources = errdefs.New(errdefs.ErrInvalidArgument, "invalid cgroup resources")
	// ErrNotSupported means a controller or control file the operation needs is not
	// available on this host (not mounted, not enabled, or too old a kernel).
	ErrNotSupported = errdefs.New(errdefs.ErrNotImplemented, "cgroup controller not supported")
	// ErrNotEmpty means processes remain in the cgroup (Delete, Kill).
	ErrNotEmpty = errdefs.New(errdefs.ErrConflict, "cgroup not empty")
	// ErrNoCgroupFS means no cgroup filesystem is mounted at /sys/fs/cgroup.
	ErrNoCgroupFS = errdefs.New(errdefs.ErrUnavailable, "no cgroup filesystem mounted")
)

// Error is the error of an operation on one cgroup. It names the operation, the cgroup
// path and, when one is involved, the controller file (as an absolute path on the host).
type Error struct {
	Op   string // "create", "update", "freeze", "add", "delete", ...
	Path string // the cgroup path, e.g. "/skiff/abc"
	File string // the host file or directory involved, e.g. "/sys/fs/cgroup/pids/skiff/abc/pids.max"; may be empty
	Err  error  // the cause; errors.Is works through it
}

func (e *Error) Error() string {
	if e.File != "" {
		return fmt.Sprintf("cgroup %s %s: %s: %v", e.Op, e.Path, e.File, e.Err)
	}
	return fmt.Sprintf("cgroup %s %s: %v", e.Op, e.Path, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func newErr(op, path, file string, err error) error {
	return &Error{Op: op, Path: path, File: file, Err: err}
}
