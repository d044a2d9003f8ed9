package skiff

import (
	"errors"
	"fmt"

	"github.com/skiffrt/skiff/errdefs"
	"github.com/skiffrt/skiff/namespace"
)

// Sentinel errors returned (wrapped) by the engine. Test for them with errors.Is.
var (
	// ErrNotFound: no container by that ID, ID prefix or name.
	ErrNotFound = errdefs.New(errdefs.ErrNotFound, "no such container")
	// ErrNameInUse: a container already has the requested name.
	ErrNameInUse = errdefs.New(errdefs.ErrConflict, "container name already in use")
	// ErrInvalidState: the lifecycle step is not allowed in the container's current state
	// (see *StateError for the states involved).
	ErrInvalidState = errdefs.New(errdefs.ErrConflict, "invalid container state")
	// ErrNoCommand: neither the caller nor the image gave a command to run.
	ErrNoCommand = errdefs.New(errdefs.ErrInvalidArgument, "no command specified")
	// ErrInvalidConfig: a field of ContainerConfig is malformed.
	ErrInvalidConfig = errdefs.New(errdefs.ErrInvalidArgument, "invalid container config")
	// ErrCommandNotFound: the container's command does not exist in its root
	// filesystem (Docker exits 127 in this case).
	ErrCommandNotFound = errdefs.New(errdefs.ErrInvalidArgument, "command not found")
	// ErrCommandNotExecutable: the container's command exists but cannot be executed
	// (Docker exits 126 in this case).
	ErrCommandNotExecutable = errdefs.New(errdefs.ErrInvalidArgument, "command not executable")
)

// StateError reports a lifecycle step refused in the container's current state, e.g.
// starting a running container. It unwraps to ErrInvalidState.
type StateError struct {
	ID   string // container ID
	Op   string // the refused step: "start", "pause", ...
	From Status // the container's state
	Want string // what the step needs, e.g. "created"
}

func (e *StateError) Error() string {
	return fmt.Sprintf("cannot %s container %s: container is %s, must be %s", e.Op, shortID(e.ID), e.From, e.Want)
}

// Unwrap returns ErrInvalidState.
func (e *StateError) Unwrap() error { return ErrInvalidState }

// ExitCodeOf maps an error from Create, Start or Run to the exit status Docker's CLI
// uses for it: 127 when the command is not found, 126 when it cannot be executed, and
// 125 for any other engine error. A nil error maps to 0.
func ExitCodeOf(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrCommandNotFound):
		return 127
	case errors.Is(err, ErrCommandNotExecutable):
		return 126
	default:
		return 125
	}
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// commandError marks an error from starting a container's process with
// ErrCommandNotFound or ErrCommandNotExecutable when the namespace package found the
// command missing or not executable, so that ExitCodeOf gives 127 or 126.
func commandError(err error) error {
	switch {
	case errors.Is(err, namespace.ErrNotFound):
		return fmt.Errorf("%w: %w", ErrCommandNotFound, err)
	case errors.Is(err, namespace.ErrNotExecutable):
		return fmt.Errorf("%w: %w", ErrCommandNotExecutable, err)
	}
	return err
}
