package overlay

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// tarListing describes a tar's headers, one line each, in stream order.
func tarListing(t testing.TB, b []byte) []string {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(b))
	var out []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("read diff tar: %v", err)
		}
		data, _ := io.ReadAll(tr)
		line := fmt.Sprintf("%c %s %o %d:%d %d", h.Typeflag, h.Name, h.Mode, h.Uid, h.Gid, h.ModTime.Unix())
		switch h.Typeflag {
		case tar.TypeReg:
			line += fmt.Sprintf(" %q", data)
		case tar.TypeSymlink, tar.TypeLink:
			line += " -> " + h.Linkname
		case tar.TypeChar, tar.TypeBlock:
			line += fmt.Sprintf(" %d:%d", h.Devmajor, h.Devminor)
		}
		var xs []string
		for k, v := range h.PAXRecords {
			if strings.HasPrefix(k, paxXattrPrefix) {
				xs = append(xs, k[len(paxXattrPrefix):]+"="+v)
			}
		}
		slices.Sort(xs)
		if len(xs) > 0 {
			line += " xattrs=" + strings.Join(xs, ",")
		}
		out = append(out, line)
	}
}

func checkGolden(t *testing.T, name string, got []string) {
	t.Helper()
	p := filepath.Join("testdata", name+".golden")
	text := strings.Join(got, "\n") + "\n"
	if *update {
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if string(want) != text {
		t.Errorf("%s differs (run with -update to accept):\n%s", p, diffLines(strings.Split(strings.TrimSpace(string(want)), "\n"), got))
	}
}

// TestDiffRoundTrip changes files through a mounted overlay, turns the upper
// dir into a layer with Diff, checks the tar against a golden listing, then
// unpacks that layer on top of the same lowers and checks the new merged view
// equals the changed one.
func TestDiffRoundTrip(t *testing.T) {
	requireRoot(t)
	s := newTestStore(t)
	l1 := unpackLines(t, s, "base",
		"dir a", "file a/x x", "file a/y y", "file gone g",
		"dir o", "file o/old old", "dir dirgone", "file dirgone/f f",
		"file keep k",
	)
	l2 := unpackLines(t, s, "mid", "file a/z z", "file .wh.keep")
	dir := t.TempDir()
	m, err := s.Prepare(t.Context(), dir, []digest.Digest{l1, l2})
	if err != nil {
		t.Fatal(err)
	}
	merged := filepath.Join(dir, "merged")
	mountOverlay(t, m, merged)
	in := func(p string) string { return filepath.Join(merged, p) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(in("new/sub"), 0o750))
	must(os.WriteFile(in("new/file"), []byte("new"), 0o640))
	must(unix.Setxattr(in("new/file"), "user.color", []byte("blue"), 0))
	must(os.WriteFile(in("a/y"), []byte("changed"), 0o644))
	must(os.Chmod(in("a/x"), 0o600))
	must(os.Remove(in("gone")))
	must(os.Remove(in("a/z")))
	must(os.RemoveAll(in("dirgone")))
	must(os.RemoveAll(in("o")))
	must(os.Mkdir(in("o"), 0o755))
	must(os.WriteFile(in("o/fresh"), []byte("fresh"), 0o644))
	must(os.Symlink("a/y", in("lnk")))
	must(os.WriteFile(in("h1"), []byte("hard"), 0o644))
	must(os.Link(in("h1"), in("new/h2")))
	must(unix.Mkfifo(in("p"), 0o600))
	must(os.Chown(in("new/file"), 1000, 1000))
	must(os.WriteFile(in("tmpfile"), []byte("t"), 0o644)) // created then deleted: no trace
	must(os.Remove(in("tmpfile")))
	wantTree := listTree(t, merged)

	epoch := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	lowers := []string{s.Dir(l1), s.Dir(l2)}
	if err := Diff(t.Context(), lowers, filepath.Join(dir, "upper"), &buf, DiffOptions{SourceDateEpoch: epoch}); err != nil {
		t.Fatalf("Diff: %v", err)
	}
	checkGolden(t, "diff-roundtrip", tarListing(t, buf.Bytes()))

	// Reproducible: the same upper gives the same bytes.
	var again bytes.Buffer
	if err := Diff(t.Context(), lowers, filepath.Join(dir, "upper"), &again, DiffOptions{SourceDateEpoch: epoch}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Errorf("two Diffs of one upper differ")
	}

	// Round trip: the diff as a layer on the same lowers shows the same tree.
	l3 := chainFor("diff")
	if err := s.Unpack(t.Context(), l3, sha(buf.Bytes()), bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatalf("Unpack of the diff: %v", err)
	}
	dir2 := t.TempDir()
	m2, err := s.Prepare(t.Context(), dir2, []digest.Digest{l1, l2, l3})
	if err != nil {
		t.Fatal(err)
	}
	merged2 := filepath.Join(dir2, "merged")
	mountOverlay(t, m2, merged2)
	if d := diffLines(wantTree, listTree(t, merged2)); d != "" {
		t.Errorf("round trip differs from the changed tree:\n%s", d)
	}
	if v, err := getxattr(filepath.Join(merged2, "new/file"), "user.color"); err != nil || v != "blue" {
		t.Errorf("xattr after round trip = %q, %v", v, err)
	}
}

// TestDiffFixtureUpper runs Diff on an upper dir written directly (as overlay
// would) and without lowers: every whiteout is kept.
func TestDiffFixtureUpper(t *testing.T) {
	requireRoot(t)
	s := newTestStore(t)
	// An "upper" in overlay form is exactly what Unpack makes.
	up := unpackLines(t, s, "upper",
		"dir d", "file d/.wh..wh..opq", "file d/f f",
		"file .wh.w",
		"file b b", "file a a",
		"symlink s /abs/target",
		"char c 1 3",
	)
	var buf bytes.Buffer
	if err := Diff(t.Context(), nil, s.Dir(up), &buf, DiffOptions{SourceDateEpoch: time.Unix(1e9, 0)}); err != nil {
		t.Fatal(err)
	}
	got := tarListing(t, buf.Bytes())
	want := []string{
		`0 .wh.w 0 0:0 1000000000 ""`,
		`0 a 644 0:0 1000000000 "a"`,
		`0 b 644 0:0 1000000000 "b"`,
		`3 c 644 0:0 1000000000 1:3`,
		`5 d/ 755 0:0 1000000000`,
		`0 d/.wh..wh..opq 0 0:0 1000000000 ""`,
		`0 d/f 644 0:0 1000000000 "f"`,
		`2 s 777 0:0 1000000000 -> /abs/target`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("Diff listing:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
