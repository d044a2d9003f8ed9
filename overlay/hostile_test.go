package overlay

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestHostileTars unpacks tars that try to write outside the layer root and
// checks, for each, the error (if any), that nothing outside the root
// changed, and where inside the layer the entries landed.
//
// The test root holds store/ and outside/ (with outside/secret). "@OUT" in a
// fixture line is replaced by the absolute path of outside/.
func TestHostileTars(t *testing.T) {
	requireRoot(t)
	t.Run("openat2", func(t *testing.T) { testHostileTars(t) })
	t.Run("pathrs-lite", func(t *testing.T) {
		forcePathrs = true
		t.Cleanup(func() { forcePathrs = false })
		testHostileTars(t)
	})
}

func testHostileTars(t *testing.T) {
	cases := []struct {
		name    string
		lines   []string
		wantErr error    // nil: must succeed
		inLayer []string // paths (relative to the layer root) that must exist
	}{
		{name: "dotdot file", lines: []string{"file ../pwned x"}, wantErr: ErrUnsafePath},
		{name: "deep dotdot", lines: []string{"file ../../../../outside/pwned x"}, wantErr: ErrUnsafePath},
		{name: "dotdot in middle", lines: []string{"file a/../../pwned x"}, wantErr: ErrUnsafePath},
		{name: "absolute name", lines: []string{"file @OUT/pwned x"}, inLayer: []string{"@OUT/pwned"}},
		{name: "dotdot that stays inside", lines: []string{"file a/../b x"}, inLayer: []string{"b"}},
		// A symlink is resolved as inside the container: its target is
		// looked up in the layer. Writing through a symlink whose target
		// does not exist in the layer fails (pathrs-lite will not create
		// directories through a dangling symlink).
		{name: "relative symlink out then write through it",
			lines: []string{"symlink esc ../../../../../../../outside", "file esc/pwned x"}, wantErr: unix.ENOTDIR},
		{name: "relative symlink out, target exists in the layer",
			lines:   []string{"dir outside", "symlink esc ../../../../../../../outside", "file esc/pwned x"},
			inLayer: []string{"outside/pwned"}},
		{name: "absolute symlink out then write through it",
			lines: []string{"symlink esc @OUT", "file esc/pwned x"}, wantErr: unix.ENOTDIR},
		{name: "absolute symlink out, target exists in the layer",
			lines:   []string{"dir @OUT", "symlink esc @OUT", "file esc/pwned x"},
			inLayer: []string{"@OUT/pwned"}},
		{name: "symlink to root then dotdot",
			lines:   []string{"symlink up ../../../..", "file up/pwned x"},
			inLayer: []string{"pwned"}},
		{name: "symlink out then mkdir through it",
			lines: []string{"symlink esc @OUT", "dir esc/pwned"}, wantErr: unix.ENOTDIR},
		{name: "dir replaced by a symlink",
			lines: []string{"dir d", "file d/keep x", "symlink d @OUT", "file d/pwned x"}, wantErr: unix.ENOTDIR},
		{name: "dir replaced by a symlink, target exists in the layer",
			lines:   []string{"dir @OUT", "dir d", "file d/keep x", "symlink d @OUT", "file d/pwned x"},
			inLayer: []string{"@OUT/pwned", "d"}},
		{name: "file over a symlink to outside replaces the link",
			lines:   []string{"symlink s @OUT/secret", "file s overwritten"},
			inLayer: []string{"s"}},
		{name: "hardlink to outside", lines: []string{"link hl ../../../../../outside/secret"}, wantErr: ErrUnsafePath},
		{name: "hardlink to absolute outside",
			lines: []string{"link hl @OUT/secret"}, wantErr: fs.ErrNotExist},
		{name: "hardlink through a symlink to outside",
			lines: []string{"symlink esc @OUT", "link hl esc/secret"}, wantErr: fs.ErrNotExist},
		{name: "hardlink to the symlink itself is fine",
			lines:   []string{"symlink esc @OUT/secret", "link hl esc"},
			inLayer: []string{"hl"}},
		{name: "whiteout through a symlink",
			lines: []string{"symlink esc @OUT", "file esc/.wh.secret"}, wantErr: unix.ENOTDIR},
		{name: "whiteout through a symlink, target exists in the layer",
			lines:   []string{"dir @OUT", "symlink esc @OUT", "file esc/.wh.secret"},
			inLayer: []string{"@OUT/secret"}},
		{name: "opaque through a symlink",
			lines: []string{"symlink esc @OUT", "file esc/.wh..wh..opq"}, wantErr: unix.ENOTDIR},
		{name: "opaque through a symlink, target exists in the layer",
			lines:   []string{"dir @OUT", "symlink esc @OUT", "file esc/.wh..wh..opq"},
			inLayer: []string{"@OUT"}},
		{name: "whiteout of dotdot", lines: []string{"file .wh.."}, wantErr: ErrUnsafePath},
		{name: "device through a symlink",
			lines:   []string{"dir @OUT", "symlink esc @OUT", "char esc/null 1 3"},
			inLayer: []string{"@OUT/null"}},
		{name: "file as the layer root", lines: []string{"file . x"}, wantErr: ErrUnsafePath},
		{name: "symlink as the layer root", lines: []string{"symlink ./ @OUT"}, wantErr: ErrUnsafePath},
		{name: "dotdot-slash name file", lines: []string{"file ./.. x"}, wantErr: ErrUnsafePath},
		{name: "absolute root name file", lines: []string{"file /. x"}, wantErr: ErrUnsafePath},
		{name: "symlink chain loop", lines: []string{"symlink a b", "symlink b a", "file a/x y"}, wantErr: unix.ELOOP},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			outside := filepath.Join(root, "outside")
			if err := os.Mkdir(outside, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s3cret"), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := NewStore(filepath.Join(root, "store"))
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, l := range tc.lines {
				lines = append(lines, strings.ReplaceAll(l, "@OUT", outside))
			}
			b := makeTar(t, lines...)
			id := chainFor(tc.name)
			err = s.Unpack(t.Context(), id, sha(b), bytes.NewReader(b))
			switch {
			case tc.wantErr == nil && err != nil:
				t.Errorf("case %d %q: Unpack(%q) = %v, want success", i, tc.name, lines, err)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Errorf("case %d %q: Unpack(%q) = %v, want %v", i, tc.name, lines, err, tc.wantErr)
			}
			// Validator 1: outside/ is exactly as it was.
			got := listTree(t, outside)
			want := []string{"file secret 600 0:0 s3cret"}
			if d := diffLines(want, got); d != "" {
				t.Errorf("case %q (%q) changed outside/:\n%s", tc.name, lines, d)
			}
			if _, err := getxattr(outside, opaqueXattr); err == nil {
				t.Errorf("case %q: outside/ was made opaque", tc.name)
			}
			// Validator 2: nothing named pwned anywhere but in the layer.
			layer := s.Dir(id)
			_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				if err == nil && strings.Contains(d.Name(), "pwned") && !strings.HasPrefix(p, layer+"/") {
					t.Errorf("case %q: %s written outside the layer %s", tc.name, p, layer)
				}
				return nil
			})
			if _, err := os.Lstat("/pwned"); err == nil {
				t.Errorf("case %q: /pwned exists on the host", tc.name)
			}
			// Validator 3: the entries landed where expected inside the layer.
			if tc.wantErr == nil {
				for _, p := range tc.inLayer {
					p = strings.ReplaceAll(p, "@OUT", outside)
					if _, err := os.Lstat(filepath.Join(layer, p)); err != nil {
						t.Errorf("case %q: %s not in the layer: %v\nlayer: %q", tc.name, p, err, listTree(t, layer))
					}
				}
			} else if s.Has(id) {
				t.Errorf("case %q: layer visible after an error", tc.name)
			}
			noTempDirs(t, s)
		})
	}
}
