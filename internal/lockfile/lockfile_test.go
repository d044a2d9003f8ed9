package lockfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestExclusiveAndShared(t *testing.T) {
	p := filepath.Join(t.TempDir(), "lock")
	a, err := TryLock(p, Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := TryLock(p, Exclusive); !errors.Is(err, ErrLocked) {
		t.Fatalf("second exclusive: %v, want ErrLocked", err)
	}
	if _, err := TryLock(p, Shared); !errors.Is(err, ErrLocked) {
		t.Fatalf("shared beside exclusive: %v, want ErrLocked", err)
	}
	a.Unlock()
	a.Unlock() // twice is harmless
	s1, err := TryLock(p, Shared)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := TryLock(p, Shared)
	if err != nil {
		t.Fatalf("two shared holders: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := Acquire(ctx, p, Exclusive); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("exclusive behind shared: %v, want deadline", err)
	}
	s1.Unlock()
	go func() { time.Sleep(20 * time.Millisecond); s2.Unlock() }()
	l, err := Acquire(context.Background(), p, Exclusive)
	if err != nil {
		t.Fatalf("exclusive after the shared holders left: %v", err)
	}
	l.Unlock()
	l, err = Acquire(nil, p, Exclusive) //nolint:staticcheck // nil ctx waits without end
	if err != nil {
		t.Fatal(err)
	}
	l.Unlock()
}

func TestAbandoned(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, ".tmp-x")
	f, err := os.Create(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if err := Hold(f); err != nil {
		t.Fatal(err)
	}
	if Abandoned(tmp) {
		t.Fatal("a held temp file is reported abandoned")
	}
	f.Close()
	if !Abandoned(tmp) {
		t.Fatal("a temp file whose writer closed it is not reported abandoned")
	}
	if Abandoned(filepath.Join(dir, "missing")) {
		t.Fatal("a missing path is reported abandoned")
	}
	// Directories too.
	sub := filepath.Join(dir, ".tmp-dir")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := TryLock(sub, Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	if Abandoned(sub) {
		t.Fatal("a held dir is reported abandoned")
	}
	l.Unlock()
	if !Abandoned(sub) {
		t.Fatal("a released dir is not reported abandoned")
	}
}
