package lockfile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
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

// TestRemovable: a locker blocked on a removable lock file while its holder removes it
// must end up holding the file the path names afterwards, so a third locker is kept
// out; a plain flock would hold the unlinked file and let the third one in.
func TestRemovable(t *testing.T) {
	p := filepath.Join(t.TempDir(), "layer")
	a, err := TryLockRemovable(p, Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	got := make(chan *Lock)
	go func() {
		b, err := AcquireRemovable(nil, p, Exclusive) // blocks in flock on a's file
		if err != nil {
			t.Error(err)
		}
		got <- b
	}()
	// Wait until the second locker waits on a's file (a "->" line of /proc/locks).
	waiting := fmt.Sprintf(":%d ", st.Ino)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		b, _ := os.ReadFile("/proc/locks")
		if slices.ContainsFunc(strings.Split(string(b), "\n"), func(l string) bool {
			return strings.Contains(l, "->") && strings.Contains(l, waiting)
		}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the second locker never waited on the lock file:\n%s", b)
		}
	}
	if err := a.Remove(p); err != nil {
		t.Fatal(err)
	}
	b := <-got
	if b == nil {
		t.FailNow()
	}
	if _, err := TryLockRemovable(p, Exclusive); !errors.Is(err, ErrLocked) {
		t.Fatalf("a third locker got %s while the second held it: %v", p, err)
	}
	if err := b.Remove(p); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file after Remove: %v", err)
	}
	c, err := TryLockRemovable(p, Exclusive)
	if err != nil {
		t.Fatalf("lock after the file was removed: %v", err)
	}
	c.Unlock()
	if err := (&Lock{}).Remove(p); err == nil {
		t.Error("Remove of a lock not held succeeded")
	}
}
