package overlay

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestUnpackGNUTar unpacks a real tree archived by GNU tar (the host's
// /usr/share/zoneinfo: ~2000 files and symlinks) and compares it with the
// source, then sends the layer through Diff and Unpack again.
func TestUnpackGNUTar(t *testing.T) {
	requireRoot(t)
	tarBin, err := exec.LookPath("tar")
	require(t, "GNU tar", err == nil)
	src := "/usr/share/zoneinfo"
	_, err = os.Stat(src)
	require(t, src+" (package tzdata)", err == nil)

	var b bytes.Buffer
	cmd := exec.CommandContext(t.Context(), tarBin, "--xattrs", "--numeric-owner", "-cf", "-", "-C", filepath.Dir(src), filepath.Base(src))
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tar: %v: %s", err, stderr.Bytes())
	}
	s := newTestStore(t)
	id := chainFor("zoneinfo")
	if err := s.Unpack(t.Context(), id, sha(b.Bytes()), bytes.NewReader(b.Bytes())); err != nil {
		t.Fatalf("Unpack of GNU tar output: %v", err)
	}
	want := listTree(t, src)
	got := listTree(t, filepath.Join(s.Dir(id), "zoneinfo"))
	if d := diffLines(want, got); d != "" {
		t.Errorf("unpacked %s differs from the source:\n%s", src, d)
	}
	// mtimes survive (a file and the directory itself).
	for _, p := range []string{"", "UTC"} {
		a, err1 := os.Lstat(filepath.Join(src, p))
		c, err2 := os.Lstat(filepath.Join(s.Dir(id), "zoneinfo", p))
		if err1 != nil || err2 != nil || !a.ModTime().Truncate(time.Second).Equal(c.ModTime().Truncate(time.Second)) {
			t.Errorf("mtime of %q: source %v, layer %v (%v %v)", p, a.ModTime(), c.ModTime(), err1, err2)
		}
	}

	// Diff of the layer dir gives a tar that unpacks to the same tree.
	var d bytes.Buffer
	if err := Diff(t.Context(), nil, s.Dir(id), &d, DiffOptions{}); err != nil {
		t.Fatalf("Diff: %v", err)
	}
	id2 := chainFor("zoneinfo again")
	if err := s.Unpack(t.Context(), id2, sha(d.Bytes()), bytes.NewReader(d.Bytes())); err != nil {
		t.Fatalf("Unpack of the Diff: %v", err)
	}
	if diff := diffLines(got, listTree(t, filepath.Join(s.Dir(id2), "zoneinfo"))); diff != "" {
		t.Errorf("Diff → Unpack changed the tree:\n%s", diff)
	}
}
