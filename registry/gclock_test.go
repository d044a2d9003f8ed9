package registry

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestGCLockModes(t *testing.T) {
	s := openStore(t)
	ctx := ctxT(t)
	// Two writers share the lock; a collector cannot have it meanwhile.
	w1, err := s.LockGC(ctx, GCShared)
	if err != nil {
		t.Fatal(err)
	}
	w2, ok, err := s.TryLockGC(GCShared)
	if err != nil || !ok {
		t.Fatalf("second shared holder: ok %v, %v", ok, err)
	}
	if rel, ok, err := s.TryLockGC(GCExclusive); err != nil || ok {
		if rel != nil {
			rel()
		}
		t.Fatalf("exclusive beside shared holders: ok %v, %v; want not ok", ok, err)
	}
	// Prune is a collector: it waits for the writers until its ctx ends.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := s.Prune(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("prune while writers hold the gc lock: %v, want deadline exceeded", err)
	}
	w1()
	w2()
	w2() // a release twice is harmless

	// Once they are gone the collector runs, and a writer waits for it.
	gc, err := s.LockGC(ctx, GCExclusive)
	if err != nil {
		t.Fatal(err)
	}
	if rel, ok, err := s.TryLockGC(GCShared); err != nil || ok {
		if rel != nil {
			rel()
		}
		t.Fatalf("shared beside the collector: ok %v, %v; want not ok", ok, err)
	}
	got := make(chan error, 1)
	go func() {
		rel, err := s.LockGC(ctx, GCShared)
		if err == nil {
			rel()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("a writer got the gc lock while the collector held it (err %v)", err)
	case <-time.After(50 * time.Millisecond):
	}
	gc()
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("writer after the collector let go: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("writer still waiting after the collector let go")
	}
	if _, err := s.Prune(ctx); err != nil {
		t.Fatalf("prune with no writer: %v", err)
	}
}
