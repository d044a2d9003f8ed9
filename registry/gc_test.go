package registry

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestPruneAndCheck(t *testing.T) {
	ctx := ctxT(t)
	s := openStore(t)
	keep, err := s.Write(ctx, "keep:v1", randomImage(t, 2, nil))
	if err != nil {
		t.Fatal(err)
	}
	gone, err := s.Write(ctx, "gone:v1", randomImage(t, 3, nil))
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := s.Check(ctx, false); err != nil || !rep.Clean() || len(rep.Unreferenced) != 0 || rep.Images != 2 {
		t.Fatalf("fresh store: %+v, %v", rep, err)
	}
	if err := s.Remove(ctx, "gone:v1"); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Prune(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Blobs) != 5 { // 3 layers, config, manifest
		t.Errorf("pruned %d blobs (%v), want 5", len(rep.Blobs), rep.Blobs)
	}
	for _, b := range rep.Blobs {
		if b == keep.ID || b == keep.Digest {
			t.Errorf("pruned a blob of a kept image: %s", b)
		}
	}
	if s.hasBlob(gone.Digest, -1) {
		t.Errorf("manifest of the removed image still there")
	}
	im, err := s.Image(ctx, "keep:v1")
	if err != nil {
		t.Fatal(err)
	}
	validateStored(t, s, im)

	// Damage: a stray temp file, a corrupt layer, a missing config.
	os.WriteFile(filepath.Join(s.blobDir(), tmpPrefix+"junk"), []byte("x"), 0o644)
	os.WriteFile(s.blobPath(keep.Layers[0].Digest), []byte("rotten"), 0o644)
	rep2, err := s.Check(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if rep2.Clean() || len(rep2.Temps) != 1 || len(rep2.Corrupt) != 1 || rep2.Corrupt[0] != keep.Layers[0].Digest {
		t.Fatalf("check of a damaged store: %+v", rep2)
	}
	rep3, err := s.Check(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep3.Temps) != 0 || len(rep3.Corrupt) != 0 || len(rep3.Missing) != 1 {
		t.Fatalf("after repair: %+v, want only the removed layer missing", rep3)
	}
}

// slowBlobs serves half of every blob GET and then stalls until the client goes away.
func slowBlobs(stall *atomic.Bool) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !stall.Load() || r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/sha256:") {
				h.ServeHTTP(w, r)
				return
			}
			rec := &recorder{header: http.Header{}}
			h.ServeHTTP(rec, r)
			for k, v := range rec.header {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.code)
			b := rec.body.Bytes()
			if len(b) < 1500 { // configs and manifests go through whole
				w.Write(b)
				return
			}
			w.Write(b[:len(b)/2])
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-time.After(time.Minute):
			}
		})
	}
}

// TestHelperPull is not a test: TestKilledPull runs the test binary with it to pull in a
// process it can SIGKILL.
func TestHelperPull(t *testing.T) {
	dir, ref := os.Getenv("SKIFF_HELPER_STORE"), os.Getenv("SKIFF_HELPER_REF")
	if dir == "" {
		t.Skip("helper process only")
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Pull(context.Background(), ref)
	t.Fatalf("pull returned (it should have been killed): %v", err)
}

func TestKilledPull(t *testing.T) {
	ctx := ctxT(t)
	var stall atomic.Bool
	host := startRegistry(t, slowBlobs(&stall))
	push(t, host+"/test/app:v1", randomImage(t, 3, nil))
	push(t, host+"/test/other:v1", randomImage(t, 1, nil))
	s := openStore(t)
	if _, err := s.Pull(ctx, host+"/test/other:v1"); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, s)

	stall.Store(true)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperPull$", "-test.v")
	cmd.Env = append(os.Environ(), "SKIFF_HELPER_STORE="+s.Dir(), "SKIFF_HELPER_REF="+host+"/test/app:v1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// Kill it once a blob is half written.
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, _ := filepath.Glob(filepath.Join(s.blobDir(), tmpPrefix+"*"))
		if len(m) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("helper never started writing a blob")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	// index.json and the visible blobs are as they were; only temp files differ.
	idx, _ := os.ReadFile(filepath.Join(s.Dir(), "index.json"))
	if !strings.HasPrefix(before, string(idx)+"\n") {
		t.Errorf("index.json changed by a killed pull")
	}
	rep, err := s.Check(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Temps) == 0 || len(rep.Missing) != 0 || len(rep.Corrupt) != 0 {
		t.Errorf("check after kill: %+v, want temp files only", rep)
	}
	// The next pull completes, and a repairing check leaves the store clean.
	stall.Store(false)
	im, err := s.Pull(ctx, host+"/test/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	validateStored(t, s, im)
	if rep, err := s.Check(ctx, true); err != nil || len(rep.Missing)+len(rep.Corrupt) != 0 {
		t.Fatalf("check: %+v %v", rep, err)
	}
	if rep, err := s.Check(ctx, false); err != nil || !rep.Clean() {
		t.Fatalf("store not clean after repair: %+v %v", rep, err)
	}
}
