package namespace

import (
	"errors"
	"fmt"

	"github.com/skiffrt/skiff/errdefs"
)

var (
	// ErrNotFound means the command (Process.Args[0]) does not exist in the container;
	// a shell or engine exits 127 for it.
	ErrNotFound = errdefs.New(errdefs.ErrNotFound, "executable not found")
	// ErrNotExecutable means the command exists but cannot be executed (no x bit, a
	// directory, a bad format); a shell or engine exits 126 for it.
	ErrNotExecutable = errdefs.New(errdefs.ErrPermissionDenied, "not executable")
	// ErrInit means the container init failed to set up the container (a mount, a
	// device, pivot_root, the user, ...). The message names the spec field and path.
	ErrInit = errors.New("container init")
	// ErrInvalidSpec means the Config or its Spec lacks something Create needs.
	ErrInvalidSpec = errdefs.New(errdefs.ErrInvalidArgument, "invalid spec")
	// ErrNotChild means Wait was called on a Process that this OS process did not
	// create (see Load); only the creator can reap it.
	ErrNotChild = errdefs.New(errdefs.ErrConflict, "process is not a child of this process")
	// ErrExited means init exited before Start could release it.
	ErrExited = errdefs.New(errdefs.ErrConflict, "container init exited")
)

// Error kinds sent by init over the sync socket.
const (
	kindInit     = "init"
	kindNotFound = "notfound"
	kindNotExec  = "notexec"
)

// childError is an error reported by init. It crosses the sync socket as JSON.
type childError struct {
	Kind  string `json:"kind"`            // kindInit, kindNotFound, kindNotExec
	Field string `json:"field,omitempty"` // the spec field involved, e.g. "mounts[3]"
	Msg   string `json:"msg"`             // the operation and path with its errno text
}

// toError turns a reported childError into an error wrapping the right sentinel.
func (e *childError) toError() error {
	sentinel := ErrInit
	switch e.Kind {
	case kindNotFound:
		sentinel = ErrNotFound
	case kindNotExec:
		sentinel = ErrNotExecutable
	}
	if e.Field != "" {
		return fmt.Errorf("%w: %s: %s", sentinel, e.Field, e.Msg)
	}
	return fmt.Errorf("%w: %s", sentinel, e.Msg)
}

// fieldError tags an error raised in init with the spec field it comes from.
type fieldError struct {
	kind  string
	field string
	err   error
}

func (e *fieldError) Error() string { return e.field + ": " + e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

// inField wraps err (if any) with the spec field that caused it.
func inField(field string, err error) error {
	if err == nil {
		return nil
	}
	var fe *fieldError
	if errors.As(err, &fe) {
		return err
	}
	return &fieldError{kind: kindInit, field: field, err: err}
}

// toChildError converts an init-side error for the wire.
func toChildError(err error) *childError {
	var fe *fieldError
	if errors.As(err, &fe) {
		return &childError{Kind: fe.kind, Field: fe.field, Msg: fe.err.Error()}
	}
	return &childError{Kind: kindInit, Msg: err.Error()}
}
