package dockeropts

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestParseDetachKeys(t *testing.T) {
	for in, want := range map[string]string{
		"":                       "\x10\x11",
		"ctrl-p,ctrl-q":          "\x10\x11",
		"ctrl-a":                 "\x01",
		"a,ctrl-@,ctrl-[,ctrl-_": "a\x00\x1b\x1f",
	} {
		got, err := ParseDetachKeys(in)
		if err != nil || string(got) != want {
			t.Errorf("ParseDetachKeys(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"ctrl-1", "ab", "ctrl-", "a,,b"} {
		if _, err := ParseDetachKeys(in); err == nil || err.Error() != "Invalid detach keys ("+in+") provided" {
			t.Errorf("ParseDetachKeys(%q): %v, want Docker's error", in, err)
		}
	}
}

func TestDetachReader(t *testing.T) {
	for _, tc := range []struct {
		in, out  string
		detached bool
	}{
		{"echo hi\n", "echo hi\n", false},
		{"ls\x10\x11rest", "ls", true},
		{"a\x10b\x10\x10\x11", "a\x10b\x10", true},
		{"\x10", "", false}, // a partial sequence at the end of the input is dropped
	} {
		for _, one := range []bool{false, true} {
			var r io.Reader = bytes.NewReader([]byte(tc.in))
			if one {
				r = iotest.OneByteReader(r)
			}
			got, err := io.ReadAll(&DetachReader{R: r, Keys: []byte{0x10, 0x11}})
			if tc.detached != errors.Is(err, ErrDetached) || string(got) != tc.out {
				t.Errorf("read %q (byte by byte %v) = %q, %v", tc.in, one, got, err)
			}
		}
	}
}
