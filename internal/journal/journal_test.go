package journal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

func collect(t *testing.T, j *Journal, opts ReadOptions) []string {
	t.Helper()
	var got []string
	if err := j.Read(context.Background(), opts, func(b []byte) error {
		got = append(got, string(b))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestAppendAndReplay(t *testing.T) {
	j, err := Open(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := collect(t, j, ReadOptions{FromStart: true}); len(got) != 0 {
		t.Fatalf("empty journal replayed %q", got)
	}
	for i := range 3 {
		if err := j.Append([]byte(fmt.Sprintf(`{"n":%d}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	got := collect(t, j, ReadOptions{FromStart: true})
	want := []string{`{"n":0}`, `{"n":1}`, `{"n":2}`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("replay = %q, want %q", got, want)
	}
	if got := collect(t, j, ReadOptions{}); len(got) != 0 {
		t.Fatalf("a read from the end returned %q", got)
	}
	for _, bad := range []string{"", "a\nb"} {
		if err := j.Append([]byte(bad)); !errors.Is(err, ErrRecord) {
			t.Errorf("Append(%q) = %v, want ErrRecord", bad, err)
		}
	}
}

func TestSegmentsAreBounded(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir, 100)
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	for i := range n {
		if err := j.Append([]byte(fmt.Sprintf(`{"record":%03d}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if len(segs) > Keep {
		t.Fatalf("%d segments kept, want at most %d", len(segs), Keep)
	}
	for _, s := range segs {
		if fi, err := os.Stat(s); err != nil || fi.Size() > 100+17 {
			t.Fatalf("segment %s grew past its bound: %v", s, fi.Size())
		}
	}
	got := collect(t, j, ReadOptions{FromStart: true})
	if len(got) == 0 || len(got) >= n {
		t.Fatalf("replay kept %d of %d records", len(got), n)
	}
	// What is kept is the newest records, in order, none missing in between.
	first, _ := strconv.Atoi(got[0][10:13])
	for i, s := range got {
		if want := fmt.Sprintf(`{"record":%03d}`, first+i); s != want {
			t.Fatalf("record %d = %s, want %s", i, s, want)
		}
	}
	if first+len(got) != n {
		t.Fatalf("replay ends at record %d, want %d", first+len(got)-1, n-1)
	}
}

// A follower sees every record appended after it started, across rotations and from
// several writers at once, each record whole.
func TestFollowAcrossRotationAndWriters(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir, 2048) // 200 records of 58 bytes span several segments
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const writers, each = 4, 50
	seen := map[string]bool{}
	ready := make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	go func() {
		done <- j.Read(ctx, ReadOptions{Follow: true}, func(b []byte) error {
			s := string(b)
			if s == `{"ready":1}` {
				once.Do(func() { close(ready) })
				return nil
			}
			if seen[s] {
				return fmt.Errorf("record %s seen twice", s)
			}
			seen[s] = true
			if len(seen) == writers*each {
				return ErrStop
			}
			return nil
		})
	}()
	for waiting := true; waiting; { // until the follower reads: it started at the end
		if err := j.Append([]byte(`{"ready":1}`)); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ready:
			waiting = false
		case <-time.After(100 * time.Millisecond):
		}
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := j.Append([]byte(fmt.Sprintf(`{"w":%d,"i":%03d,"pad":"xxxxxxxxxxxxxxxx"}`, w, i))); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(seen) != writers*each {
		t.Fatalf("follower saw %d of %d records", len(seen), writers*each)
	}
	if segs, _ := filepath.Glob(filepath.Join(dir, "*.jsonl")); len(segs) < 3 {
		t.Fatalf("the records spanned %d segments, want several", len(segs))
	}
}

// Records appended by another process wake a follower.
func TestFollowSeesOtherProcess(t *testing.T) {
	if os.Getenv("JOURNAL_HELPER") != "" {
		j, err := Open(os.Getenv("JOURNAL_HELPER"), 0)
		if err == nil {
			err = j.Append([]byte(`{"from":"child"}`))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	dir := t.TempDir()
	j, err := Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan string, 1)
	go j.Read(ctx, ReadOptions{Follow: true}, func(b []byte) error {
		got <- string(b)
		return ErrStop
	})
	time.Sleep(50 * time.Millisecond)
	cmd := exec.Command(os.Args[0], "-test.run=^TestFollowSeesOtherProcess$")
	cmd.Env = append(os.Environ(), "JOURNAL_HELPER="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v: %s", err, out)
	}
	select {
	case s := <-got:
		if s != `{"from":"child"}` {
			t.Fatalf("got %q", s)
		}
	case <-ctx.Done():
		t.Fatal("the follower never saw the other process's record")
	}
}

func TestFollowEndsWithContext(t *testing.T) {
	j, err := Open(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- j.Read(ctx, ReadOptions{Follow: true}, func([]byte) error { return nil }) }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read did not return after its context ended")
	}
}
