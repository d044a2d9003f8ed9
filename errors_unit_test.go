package skiff

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/skiffrt/skiff/errdefs"
	"github.com/skiffrt/skiff/namespace"
)

// TestExitCodeOf: the exit status Docker's CLI gives for an engine error, through the
// wrapping that commandError adds to the namespace package's errors.
func TestExitCodeOf(t *testing.T) {
	notFound := fmt.Errorf("exec /bin/nope: %w", namespace.ErrNotFound)
	notExec := fmt.Errorf("exec /etc/passwd: %w", namespace.ErrNotExecutable)
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"no error", nil, 0},
		{"command not found", commandError(notFound), 127},
		{"command not executable", commandError(notExec), 126},
		{"wrapped again by a caller", fmt.Errorf("start container abc: %w", commandError(notFound)), 127},
		{"any other engine error", commandError(errors.New("mount: permission denied")), 125},
		{"a config error", fmt.Errorf("%w: Mounts[0].Target", ErrInvalidConfig), 125},
		{"cancelled", context.Canceled, 125},
		{"namespace's own not-found, not marked", notFound, 125},
	} {
		if got := ExitCodeOf(tc.err); got != tc.want {
			t.Errorf("%s: ExitCodeOf(%v) = %d, want %d", tc.name, tc.err, got, tc.want)
		}
	}
	// commandError keeps the cause reachable and adds the class.
	err := commandError(notExec)
	if !errors.Is(err, namespace.ErrNotExecutable) || !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("commandError lost the cause or the class: %v", err)
	}
	if other := errors.New("x"); commandError(other) != other {
		t.Errorf("commandError changed an unrelated error")
	}
}

func TestStateError(t *testing.T) {
	id := strings.Repeat("ab", 32)
	var err error = fmt.Errorf("start: %w", &StateError{ID: id, Op: "start", From: StatusRunning, Want: "created"})
	var se *StateError
	if !errors.As(err, &se) || se.From != StatusRunning {
		t.Fatalf("errors.As: %v", err)
	}
	if !errors.Is(err, ErrInvalidState) || !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("%v does not wrap ErrInvalidState and the conflict class", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "cannot start container "+id[:12]+":") || strings.Contains(msg, id[:13]) ||
		!strings.Contains(msg, "is running, must be created") {
		t.Errorf("message %q: want the short ID, the step and both states", msg)
	}
	if shortID("abc") != "abc" || shortID(id) != id[:12] {
		t.Errorf("shortID: %q, %q", shortID("abc"), shortID(id))
	}
}
