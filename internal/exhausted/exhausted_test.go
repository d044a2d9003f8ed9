package exhausted_test

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"

	"github.com/skiffrt/skiff/errdefs"
	"github.com/skiffrt/skiff/internal/exhausted"
)

func TestMark(t *testing.T) {
	full := &fs.PathError{Op: "write", Path: "/root/images/blobs/sha256/.tmp-x", Err: syscall.ENOSPC}
	for _, c := range []struct {
		err  error
		want error // nil: unchanged
	}{
		{fmt.Errorf("blob: %w", full), exhausted.ErrNoSpace},
		{&fs.PathError{Op: "write", Path: "/q", Err: syscall.EDQUOT}, exhausted.ErrNoSpace},
		{&fs.PathError{Op: "open", Path: "/f", Err: syscall.EMFILE}, exhausted.ErrTooManyFiles},
		{fmt.Errorf("socket: %w", syscall.ENFILE), exhausted.ErrTooManyFiles},
		{&fs.PathError{Op: "open", Path: "/f", Err: syscall.ENOENT}, nil},
		{errors.New("plain"), nil},
	} {
		got := exhausted.Mark(c.err)
		if c.want == nil {
			if got != c.err {
				t.Errorf("Mark(%v) = %v, want it unchanged", c.err, got)
			}
			continue
		}
		if !errors.Is(got, c.want) || !errors.Is(got, errdefs.ErrResourceExhausted) || !errors.Is(got, c.err) {
			t.Errorf("Mark(%v): not %v, its class and the original", c.err, c.want)
		}
		if got.Error() != c.err.Error() {
			t.Errorf("Mark changed the text: %q, want %q", got, c.err)
		}
		if again := exhausted.Mark(got); again != got {
			t.Errorf("Mark of a marked error wraps it again: %v", again)
		}
		if errdefs.HTTPStatus(got) != 500 {
			t.Errorf("HTTPStatus(%v) = %d, want 500", got, errdefs.HTTPStatus(got))
		}
	}
	if exhausted.Mark(nil) != nil {
		t.Error("Mark(nil) is not nil")
	}
}
