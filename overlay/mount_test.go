package overlay

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
	"github.com/opencontainers/go-digest"
)

// TestWhiteoutsThroughOverlay mounts two layers and checks that a whiteout in
// the upper one hides a lower file and an opaque dir hides the lower dir's
// contents.
func TestWhiteoutsThroughOverlay(t *testing.T) {
	requireRoot(t)
	s := newTestStore(t)
	l1 := unpackLines(t, s, "base",
		"dir a", "file a/x x", "file a/y y",
		"file gone g",
		"dir o", "file o/old old", "dir o/sub", "file o/sub/deep d",
		"dir dirgone", "file dirgone/f f",
	)
	l2 := unpackLines(t, s, "top",
		"file .wh.gone",
		"file a/.wh.x",
		"dir o", "file o/.wh..wh..opq", "file o/new new",
		"file .wh.dirgone",
	)
	// The layer on disk is in overlay form.
	raw := listTree(t, s.Dir(l2))
	for _, w := range []string{"char gone 0:0", "char a/x 0:0", "dir o 755 0:0 opaque=y", "char dirgone 0:0"} {
		if !slices.Contains(raw, w) {
			t.Errorf("top layer lacks %q; has:\n%s", w, strings.Join(raw, "\n"))
		}
	}
	dir := t.TempDir()
	m, err := s.Prepare(t.Context(), dir, []digest.Digest{l1, l2})
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	merged := filepath.Join(dir, "merged")
	mountOverlay(t, m, merged)
	got := listTree(t, merged)
	want := []string{
		"dir a 755 0:0",
		"file a/y 644 0:0 y",
		"dir o 755 0:0", // overlay hides its own trusted.overlay.* xattrs
		"file o/new 644 0:0 new",
	}
	if d := diffLines(want, got); d != "" {
		t.Errorf("merged tree differs:\n%s", d)
	}
	// A write lands in the upper dir, not in the shared layer.
	if err := os.WriteFile(filepath.Join(merged, "a", "y"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(s.Dir(l1), "a", "y")); string(b) != "y" {
		t.Errorf("write through the overlay changed the lower layer: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "upper", "a", "y")); string(b) != "changed" {
		t.Errorf("upper a/y = %q, want changed", b)
	}
}

func TestPrepareZeroLayers(t *testing.T) {
	requireRoot(t)
	s := newTestStore(t)
	dir := t.TempDir()
	m, err := s.Prepare(t.Context(), dir, nil)
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	merged := filepath.Join(dir, "merged")
	mountOverlay(t, m, merged)
	if got := listTree(t, merged); len(got) != 0 {
		t.Errorf("empty snapshot has %q", got)
	}
	if err := os.WriteFile(filepath.Join(merged, "f"), []byte("x"), 0o644); err != nil {
		t.Fatalf("write to empty snapshot: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(s.Root(), emptyDir)); len(ents) != 0 {
		t.Errorf("the shared empty lower dir was written: %v", ents)
	}
}

func TestPrepareMissingLayer(t *testing.T) {
	s := newTestStore(t)
	missing := chainFor("missing")
	_, err := s.Prepare(t.Context(), t.TempDir(), []digest.Digest{missing})
	if !errors.Is(err, ErrLayerNotFound) || !strings.Contains(err.Error(), missing.String()) {
		t.Errorf("Prepare with a missing layer: %v, want ErrLayerNotFound naming %s", err, missing)
	}
}

// TestManyLayers mounts 70 layers: with a short store root the options fit
// one page and mount(2) is used; with a long root they do not and Mount falls
// back to fsconfig lowerdir+.
func TestManyLayers(t *testing.T) {
	requireRoot(t)
	const n = 70
	for _, tc := range []struct {
		name string
		root func(t *testing.T) string
		fits bool
	}{
		{"short root", func(t *testing.T) string {
			d, err := os.MkdirTemp("/tmp", "sk")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(d) })
			return d
		}, true},
		{"long root", func(t *testing.T) string {
			d := filepath.Join(t.TempDir(), strings.Repeat("long-directory-name-", 5))
			return d
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewStore(tc.root(t))
			if err != nil {
				t.Fatal(err)
			}
			var ids []digest.Digest
			for i := range n {
				ids = append(ids, unpackLines(t, s, fmt.Sprintf("layer%d", i),
					fmt.Sprintf("file f%02d %d", i, i), fmt.Sprintf("file top %d", i)))
			}
			dir := t.TempDir()
			m, err := s.Prepare(t.Context(), dir, ids)
			if err != nil {
				t.Fatal(err)
			}
			size := len(strings.Join(m.Options, ","))
			if fits := size < os.Getpagesize(); fits != tc.fits {
				t.Fatalf("mount data is %d bytes; fits a page = %v, test wants %v", size, fits, tc.fits)
			}
			merged := filepath.Join(dir, "merged")
			mountOverlay(t, m, merged)
			for i := range n {
				b, err := os.ReadFile(filepath.Join(merged, fmt.Sprintf("f%02d", i)))
				if err != nil || string(b) != fmt.Sprint(i) {
					t.Errorf("f%02d = %q, %v", i, b, err)
				}
			}
			if b, _ := os.ReadFile(filepath.Join(merged, "top")); string(b) != fmt.Sprint(n-1) {
				t.Errorf("top = %q, want the topmost layer's %d", b, n-1)
			}
		})
	}
}

func TestUnmountNotMounted(t *testing.T) {
	requireRoot(t)
	d := t.TempDir()
	if err := Unmount(d); err != nil {
		t.Errorf("Unmount of a plain dir: %v", err)
	}
	if err := Unmount(filepath.Join(d, "missing")); err != nil {
		t.Errorf("Unmount of a missing dir: %v", err)
	}
	// Mounted, then unmounted twice.
	s := newTestStore(t)
	m, err := s.Prepare(t.Context(), d, nil)
	if err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(d, "merged")
	mountOverlay(t, m, target)
	if err := Unmount(target); err != nil {
		t.Fatalf("Unmount: %v", err)
	}
	if ok, _ := mountinfo.Mounted(target); ok {
		t.Errorf("%s still mounted", target)
	}
	if err := Unmount(target); err != nil {
		t.Errorf("second Unmount: %v", err)
	}
}

func TestMountErrorNamesEverything(t *testing.T) {
	requireRoot(t)
	m := Mount{Type: "overlay", Source: "overlay", Options: []string{"lowerdir=/nonexistent-skiff-lower"}}
	target := t.TempDir()
	err := m.Mount(target)
	if err == nil {
		Unmount(target)
		t.Fatal("mount of a missing lowerdir succeeded")
	}
	var me *MountError
	if !errors.As(err, &me) {
		t.Fatalf("error %T %v is not a *MountError", err, err)
	}
	for _, s := range []string{"mount", "overlay", target, "lowerdir=/nonexistent-skiff-lower"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not name %q", err, s)
		}
	}
}

func TestSplitLowerdirs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"/a:/b", []string{"/a", "/b"}},
		{`/a\:b:/c`, []string{"/a:b", "/c"}},
		{escapeOption(`/x:y,z\w`), []string{`/x:y,z\w`}},
	} {
		if got := splitLowerdirs(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("splitLowerdirs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// A short link that was lost is recreated; one that points elsewhere (a
// prefix collision, or tampering) is an error, never a wrong mount.
func TestPrepareShortLinks(t *testing.T) {
	requireRoot(t)
	s := newTestStore(t)
	id := unpackLines(t, s, "short", "file a x")
	link := filepath.Join(s.Root(), linksDir, shortName(id.Encoded()))
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Prepare(t.Context(), t.TempDir(), []digest.Digest{id}); err != nil {
		t.Fatalf("Prepare with a lost short link: %v", err)
	}
	if _, err := os.Stat(link); err != nil {
		t.Errorf("short link not recreated: %v", err)
	}
	os.Remove(link)
	if err := os.Symlink("../"+strings.Repeat("0", 64)+"/diff", link); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Prepare(t.Context(), t.TempDir(), []digest.Digest{id}); err == nil || !strings.Contains(err.Error(), link) {
		t.Errorf("Prepare with a foreign short link: %v, want an error naming %s", err, link)
	}
}
