package dirwatch

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A change in the directory ends Wait long before its bound; without one, Wait lasts
// its bound; an ended context ends it at once.
func TestWait(t *testing.T) {
	dir := t.TempDir()
	w := New(dir)
	if w == nil {
		t.Fatal("inotify unavailable")
	}
	defer w.Close()
	go func() {
		time.Sleep(50 * time.Millisecond)
		os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644)
	}()
	start := time.Now()
	w.Wait(context.Background(), 10*time.Second)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Wait after a write took %v", d)
	}
	// A quiet directory (a fresh watch: the write above may still be reporting its
	// close) lets Wait last its bound.
	quiet := New(t.TempDir())
	defer quiet.Close()
	start = time.Now()
	quiet.Wait(context.Background(), 200*time.Millisecond)
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("Wait without a change returned after %v", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start = time.Now()
	w.Wait(ctx, 10*time.Second)
	var none *Watch
	none.Wait(ctx, 10*time.Second) // nil: naps, and ends with ctx too
	none.Close()
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Wait with an ended context took %v", d)
	}
}
