package skiff

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestVolumeCheck: what a killed volume create or removal leaves is found, and repair
// removes it and nothing else. No root needed: volumes are plain dirs.
func TestVolumeCheck(t *testing.T) {
	root := t.TempDir()
	vs := &volumeStore{dir: filepath.Join(root, "volumes"), log: slog.New(slog.DiscardHandler)}
	if temps, err := vs.check(true); err != nil || temps != nil {
		t.Fatalf("check of a root without volumes: %v, %v", temps, err)
	}
	if _, err := os.Stat(vs.dir); !os.IsNotExist(err) {
		t.Fatalf("check made the volumes dir (%v)", err)
	}
	unlock, err := vs.lockVolumes() // as CreateVolume does
	if err != nil {
		t.Fatal(err)
	}
	v, created, err := vs.ensureVolume("data", nil, false)
	unlock()
	if err != nil || !created {
		t.Fatalf("create volume: %v, %v", created, err)
	}
	// A create killed before its rename, and a removal killed after its rename.
	want := []string{filepath.Join(vs.dir, ".rm-456"), filepath.Join(vs.dir, ".tmp-123")}
	for _, f := range []string{".tmp-123/_data/f", ".rm-456/gone/_data/f"} {
		full := filepath.Join(vs.dir, f)
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	temps, err := vs.check(false)
	if err != nil || !slices.Equal(temps, want) {
		t.Fatalf("check: %q, %v; want %q", temps, err, want)
	}
	for _, p := range want {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("check without repair removed %s", p)
		}
	}
	if temps, err := vs.check(true); err != nil || !slices.Equal(temps, want) {
		t.Fatalf("repair: %q, %v; want %q", temps, err, want)
	}
	for _, p := range want {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("repair left %s (%v)", p, err)
		}
	}
	if got, err := vs.readVolume("data"); err != nil || got.Mountpoint != v.Mountpoint {
		t.Errorf("repair touched the volume: %+v, %v", got, err)
	}
	if temps, err := vs.check(false); err != nil || len(temps) != 0 {
		t.Errorf("check after repair: %q, %v; want clean", temps, err)
	}
}
