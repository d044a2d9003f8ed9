package jsonlog

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCopyFrom(t *testing.T) {
	var buf bytes.Buffer
	w := New(&buf)
	long := strings.Repeat("x", MaxLine+10) + "\n"
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); w.CopyFrom("stdout", strings.NewReader("one\ntwo\nno newline")) }()
	go func() { defer wg.Done(); w.CopyFrom("stderr", strings.NewReader(long)) }()
	wg.Wait()
	var out, errs []string
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var e struct {
			Log, Stream string
			Time        time.Time
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.Time.IsZero() {
			t.Fatalf("line %q: %v", l, err)
		}
		if e.Stream == "stdout" {
			out = append(out, e.Log)
		} else {
			errs = append(errs, e.Log)
		}
	}
	if strings.Join(out, "|") != "one\n|two\n|no newline" {
		t.Errorf("stdout entries %q", out)
	}
	if len(errs) != 2 || len(errs[0]) != MaxLine || errs[0]+errs[1] != long {
		t.Errorf("a line of %d bytes became %d entries", len(long), len(errs))
	}
}
