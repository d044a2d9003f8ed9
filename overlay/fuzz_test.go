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

// FuzzUnpackParallel checks that the parallel writers change nothing: the
// same bytes unpacked with and without them fail alike or give the same tree.
func FuzzUnpackParallel(f *testing.F) {
	for _, lines := range [][]string{
		{"file a x", "file a y", "dir a", "file a/b c"},
		{"file a x", "link b a", "file c y", "symlink a c", "file a z"},
		{"dir d", "file d/f 1", "file d/g 2", "symlink d e", "dir d", "file d/f 3"},
		{"file f 1", "file .wh.f", "file f 2", "fifo f"},
		{"file a/b 1", "file a 2", "file a/c 3"},
	} {
		f.Add(makeTar(f, lines...))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if os.Geteuid() != 0 {
			t.Skip("needs root")
		}
		run := func(par bool) ([]string, error) {
			parallelWrites = par
			defer func() { parallelWrites = true }()
			s, err := NewStore(t.TempDir(), WithoutSync())
			if err != nil {
				t.Fatal(err)
			}
			id := chainFor("p")
			if err := s.Unpack(t.Context(), id, sha(b), bytes.NewReader(b)); err != nil {
				return nil, err
			}
			return listTree(t, s.Dir(id)), nil
		}
		seqTree, seqErr := run(false)
		parTree, parErr := run(true)
		if (seqErr == nil) != (parErr == nil) {
			t.Fatalf("sequential error %v, parallel error %v", seqErr, parErr)
		}
		if d := diffLines(seqTree, parTree); d != "" {
			t.Fatalf("parallel tree differs from sequential:\n%s", d)
		}
	})
}
