package registry

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/skiffrt/skiff/internal/lockfile"
)

// SweepTemps removes temps nobody holds and leaves a live writer's, and never touches
// blobs or files that are not temps.
func TestSweepTemps(t *testing.T) {
	s := openStore(t)
	dead := filepath.Join(s.blobDir(), tmpPrefix+"dead-1")
	os.WriteFile(dead, []byte("x"), 0o644)
	deadIndex := filepath.Join(s.Dir(), tmpPrefix+"index.json-2")
	os.WriteFile(deadIndex, []byte("{"), 0o644)
	live, err := os.CreateTemp(s.blobDir(), tmpPrefix+"live-")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if err := lockfile.Hold(live); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(s.blobDir(), "not-a-temp")
	os.WriteFile(other, nil, 0o644)

	removed, err := s.SweepTemps()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	want := []string{deadIndex, dead}
	slices.Sort(want)
	if !slices.Equal(removed, want) {
		t.Errorf("removed %q, want %q", removed, want)
	}
	for _, p := range []string{live.Name(), other} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}
