package dockeropts

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// DefaultDetachKeys is docker's detach sequence: ctrl-p, ctrl-q.
const DefaultDetachKeys = "ctrl-p,ctrl-q"

// ParseDetachKeys parses docker's --detach-keys (the API's detachKeys): a
// comma-separated sequence of single characters and ctrl-<x>, where x is a letter or
// one of @ [ \ ] ^ _. The empty string is DefaultDetachKeys.
func ParseDetachKeys(s string) ([]byte, error) {
	if s == "" {
		s = DefaultDetachKeys
	}
	var keys []byte
	for _, k := range strings.Split(s, ",") {
		switch {
		case len(k) == 1:
			keys = append(keys, k[0])
		case strings.HasPrefix(k, "ctrl-") && len(k) == 6:
			c := k[5]
			switch {
			case c >= 'a' && c <= 'z':
				keys = append(keys, c-'a'+1)
			case c >= 'A' && c <= 'Z':
				keys = append(keys, c-'A'+1)
			case c >= '@' && c <= '_': // @ [ \ ] ^ _
				keys = append(keys, c-'@')
			default:
				return nil, fmt.Errorf("Invalid detach keys (%s) provided", s)
			}
		default:
			return nil, fmt.Errorf("Invalid detach keys (%s) provided", s)
		}
	}
	return keys, nil
}

// ErrDetached is what a DetachReader returns once it read the detach sequence.
var ErrDetached = errors.New("detached from the container")

// DetachReader passes its input through until the detach sequence, which it keeps
// and after which it returns ErrDetached. A partial sequence followed by another
// byte is passed on whole.
type DetachReader struct {
	R    io.Reader
	Keys []byte

	matched  int    // bytes of Keys read so far
	pending  []byte // bytes to pass on before reading more
	detached bool
}

// Read implements io.Reader.
func (d *DetachReader) Read(p []byte) (int, error) {
	for {
		if len(d.pending) > 0 {
			n := copy(p, d.pending)
			d.pending = d.pending[n:]
			return n, nil
		}
		if d.detached {
			return 0, ErrDetached
		}
		buf := make([]byte, len(p))
		n, err := d.R.Read(buf)
		for _, b := range buf[:n] {
			if d.detached {
				break // what follows the sequence is dropped
			}
			if len(d.Keys) > 0 && b == d.Keys[d.matched] {
				d.matched++
				if d.matched == len(d.Keys) {
					d.detached = true
				}
				continue
			}
			if d.matched > 0 { // not the sequence after all
				d.pending = append(d.pending, d.Keys[:d.matched]...)
				d.matched = 0
				if len(d.Keys) > 0 && b == d.Keys[0] {
					d.matched = 1
					continue
				}
			}
			d.pending = append(d.pending, b)
		}
		if len(d.pending) > 0 || d.detached {
			continue
		}
		if err != nil {
			return 0, err
		}
	}
}
