package overlay

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzUnpack feeds arbitrary tar bytes to Unpack: it must never panic, and
// whatever it does, nothing may appear outside the layer (the fuzz root holds
// store/ and a canary dir outside/ that must stay untouched).
func FuzzUnpack(f *testing.F) {
	for _, lines := range [][]string{
		{"file a x", "dir d", "symlink s /", "file s/pwned x"},
		{"file ../pwned x"},
		{"symlink esc ../../../../../outside", "file esc/pwned x"},
		{"dir d", "symlink d ../../..", "file d/pwned x"},
		{"link hl ../../outside/secret"},
		{"file .wh.x", "file d/.wh..wh..opq", "char c 1 3"},
	} {
		f.Add(makeTar(f, lines...))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if os.Geteuid() != 0 {
			t.Skip("needs root")
		}
		root := t.TempDir()
		outside := filepath.Join(root, "outside")
		if err := os.Mkdir(outside, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := NewStore(filepath.Join(root, "store"), WithoutSync())
		if err != nil {
			t.Fatal(err)
		}
		id := chainFor("fuzz")
		_ = s.Unpack(t.Context(), id, sha(b), bytes.NewReader(b))
		if got := listTree(t, outside); len(got) != 1 {
			t.Errorf("outside/ changed: %q", got)
		}
		layer := s.Dir(id)
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && strings.Contains(d.Name(), "pwned") && !strings.HasPrefix(p, layer+"/") {
				t.Errorf("%s written outside the layer", p)
			}
			return nil
		})
		noTempDirs(t, s)
	})
}
