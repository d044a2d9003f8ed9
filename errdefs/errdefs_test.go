package errdefs_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/skiffrt/skiff/errdefs"
)

func TestClassedSentinels(t *testing.T) {
	noContainer := errdefs.New(errdefs.ErrNotFound, "no such container")
	err := fmt.Errorf("%w: web", noContainer)
	if !errors.Is(err, noContainer) || !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("%v: not both its sentinel and its class", err)
	}
	if errors.Is(err, errdefs.ErrConflict) {
		t.Fatal("a not-found error is a conflict")
	}
	if err.Error() != "no such container: web" {
		t.Fatalf("text %q", err)
	}
	for _, c := range []struct {
		err  error
		code int
	}{
		{nil, 200},
		{err, http.StatusNotFound},
		{errdefs.New(errdefs.ErrConflict, "name in use"), 409},
		{fmt.Errorf("x: %w", errdefs.New(errdefs.ErrInvalidArgument, "bad")), 400},
		{errdefs.ErrUnauthorized, 401},
		{errdefs.ErrPermissionDenied, 403},
		{errdefs.ErrNotImplemented, 501},
		{errdefs.ErrUnavailable, 503},
		{errdefs.ErrDataLoss, 500},
		{errors.New("plain"), 500},
	} {
		if got := errdefs.HTTPStatus(c.err); got != c.code {
			t.Errorf("HTTPStatus(%v) = %d, want %d", c.err, got, c.code)
		}
	}
}

func ExampleNew() {
	ErrNoSuchVolume := errdefs.New(errdefs.ErrNotFound, "no such volume")
	err := fmt.Errorf("%w: data", ErrNoSuchVolume)
	fmt.Println(err, errors.Is(err, errdefs.ErrNotFound), errdefs.HTTPStatus(err))
	// Output: no such volume: data true 404
}
