package builder_test

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/skiffrt/skiff/builder"
	"github.com/skiffrt/skiff/registry"
)

func TestPruneCache(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"a.txt": "a"})
	df := "FROM busybox\nRUN echo one > /one\nCOPY a.txt /a\n"
	img, err := e.build(t, dir, df, builder.Options{Tags: []string{"p:1"}})
	if err != nil {
		t.Fatal(err)
	}

	// A build in flight holds the GC lock shared: Prune waits for it.
	release, err := e.images.LockGC(ctx, registry.GCShared)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, err = e.b.Prune(short)
	cancel()
	release()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("prune during a build: %v, want it to wait until its deadline", err)
	}

	rep, err := e.b.Prune(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Entries != 2 || len(rep.Blobs) != 2 || rep.Reclaimed <= 0 {
		t.Errorf("prune: %d entries, blobs %v, %d bytes; want the 2 steps and their blobs", rep.Entries, rep.Blobs, rep.Reclaimed)
	}
	if m, _ := filepath.Glob(filepath.Join(e.root, "build-cache", "blobs", "sha256", "*")); len(m) != 0 {
		t.Errorf("blobs left in the cache: %v", m)
	}
	// The image built before keeps every layer (the image store has its own copies).
	for _, l := range img.Layers {
		rc, err := e.images.OpenLayer(ctx, l)
		if err == nil {
			_, err = io.Copy(io.Discard, rc)
			rc.Close()
		}
		if err != nil {
			t.Errorf("layer %s of the built image after prune: %v", l.Digest, err)
		}
	}
	// Nothing is cached any more: the next build runs its steps again.
	before := e.runner.runs.Load()
	if _, err := e.build(t, dir, df, builder.Options{Tags: []string{"p:2"}}); err != nil {
		t.Fatal(err)
	}
	if n := e.runner.runs.Load() - before; n != 1 {
		t.Errorf("build after prune ran %d commands, want 1", n)
	}
	if again, err := e.b.Prune(ctx); err != nil || again.Entries != 2 {
		t.Errorf("second prune: %+v, %v; want the 2 new entries", again, err)
	}
}
