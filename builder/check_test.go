package builder_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/skiffrt/skiff/builder"
	"github.com/skiffrt/skiff/internal/testutil"
	"github.com/skiffrt/skiff/overlay"
	"github.com/skiffrt/skiff/registry"
)

// newCacheBuilder is a Builder over empty stores, for tests of the cache alone.
func newCacheBuilder(t *testing.T) (*builder.Builder, *registry.Store, string) {
	t.Helper()
	root := t.TempDir()
	images, err := registry.Open(filepath.Join(root, "images"))
	if err != nil {
		t.Fatal(err)
	}
	layers, err := overlay.NewStore(root)
	if err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(root, "build-cache")
	b, err := builder.New(builder.Config{Images: images, Layers: layers, CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	return b, images, cache
}

// TestCheckCacheTemps: the temps a killed build leaves are reported only while no build
// or pull holds the GC lock, and repair removes exactly them. No root needed.
func TestCheckCacheTemps(t *testing.T) {
	b, images, cache := newCacheBuilder(t)
	ctx := t.Context()
	// What a killed build leaves: the reported temp, and a file inside it.
	var temps []string
	for _, tc := range []struct{ temp, file string }{
		{".tmp-build-1", "upper/etc/passwd"},
		{".tmp-commit-2", "layer.tar"},
		{"blobs/.tmp-blob-3", ""},
		{"keys/ab/.tmp-key-4", ""},
	} {
		p := filepath.Join(cache, tc.temp)
		if tc.file != "" {
			p = filepath.Join(p, tc.file)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
		temps = append(temps, filepath.Join(cache, tc.temp))
	}
	slices.Sort(temps)
	kept := filepath.Join(cache, "keys", "ab", "ab12.json") // a recorded entry: not a temp
	if err := os.WriteFile(kept, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}

	// A build (or pull) runs: its temps are its own.
	release, err := images.LockGC(ctx, registry.GCShared)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := b.Check(ctx, true)
	release()
	if err != nil || !rep.Clean() {
		t.Fatalf("check while a build runs: %+v, %v; want nothing reported", rep, err)
	}
	for _, p := range temps {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("check while a build runs removed %s: %v", p, err)
		}
	}

	rep, err = b.Check(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Temps, temps) {
		t.Fatalf("check: temps %q, want %q", rep.Temps, temps)
	}
	if rep, err = b.Check(ctx, true); err != nil || len(rep.Temps) != len(temps) {
		t.Fatalf("repair: %+v, %v", rep, err)
	}
	for _, p := range temps {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("repair left %s (%v)", p, err)
		}
	}
	if _, err := os.Stat(kept); err != nil {
		t.Errorf("repair removed a cache entry: %v", err)
	}
	if rep, err := b.Check(ctx, false); err != nil || !rep.Clean() {
		t.Fatalf("check after repair: %+v, %v; want clean", rep, err)
	}
}

// TestCheckUnmountsStaleSnapshot: a step snapshot left mounted by a killed build is
// unmounted before it is removed.
func TestCheckUnmountsStaleSnapshot(t *testing.T) {
	testutil.RequireRoot(t)
	b, _, cache := newCacheBuilder(t)
	merged := filepath.Join(cache, ".tmp-build-killed", "merged")
	if err := os.MkdirAll(merged, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", merged, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", merged, err)
	}
	t.Cleanup(func() { _ = overlay.Unmount(merged) })
	if err := os.WriteFile(filepath.Join(merged, "f"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := b.Check(t.Context(), true)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Dir(merged)}; !slices.Equal(rep.Temps, want) {
		t.Fatalf("check: temps %q, want %q", rep.Temps, want)
	}
	if ok, err := mountinfo.Mounted(merged); err == nil && ok {
		t.Fatalf("%s still mounted after repair", merged)
	}
	if _, err := os.Lstat(filepath.Dir(merged)); !os.IsNotExist(err) {
		t.Fatalf("repair left %s (%v)", filepath.Dir(merged), err)
	}
}
