package overlay

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/opencontainers/go-digest"
)

// usernsBase is the host uid/gid that root of the test's user namespace maps to.
const usernsBase = 300000

// TestUserXattrInUserNamespace runs TestUserXattrChild as root of a new user and
// mount namespace (root inside = host uid 300000): what a rootless engine does.
func TestUserXattrInUserNamespace(t *testing.T) {
	requireRoot(t)
	// A dir of its own, owned by the mapped root (t.TempDir's parents are 0700 root).
	dir, err := os.MkdirTemp("", "skiff-userxattr-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "overlay.test")
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(work, usernsBase, usernsBase); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestUserXattrChild$", "-test.v")
	cmd.Env = append(os.Environ(), "SKIFF_USERXATTR_DIR="+work)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		Credential:  &syscall.Credential{Uid: 0, Gid: 0},
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: usernsBase, Size: 65536}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: usernsBase, Size: 65536}},
	}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestUserXattrChild") {
		t.Fatalf("child in a user namespace: %v\n%s", err, out)
	}
	// On the host the layer's files belong to the mapped root.
	var st syscall.Stat_t
	if err := syscall.Lstat(filepath.Join(work, "layers"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != usernsBase {
		t.Errorf("layer store owned by %d on the host, want %d", st.Uid, usernsBase)
	}
}

// TestUserXattrChild is the user-namespace half of TestUserXattrInUserNamespace:
// unpack layers with whiteouts, an opaque dir and a device node into a
// WithUserXattr store, mount them, change the merged tree and diff it.
func TestUserXattrChild(t *testing.T) {
	dir := os.Getenv("SKIFF_USERXATTR_DIR")
	if dir == "" {
		t.Skip("run by TestUserXattrInUserNamespace")
	}
	if m, _ := os.ReadFile("/proc/self/uid_map"); strings.Fields(string(m))[1] == "0" {
		t.Fatalf("not in a user namespace: uid_map %q", m)
	}
	s, err := NewStore(dir, WithUserXattr())
	if err != nil {
		t.Fatal(err)
	}
	l1 := unpackLines(t, s, "base",
		"dir a", "file a/x x", "file a/y y",
		"dir o", "file o/old old",
		"char null 1 3", // not creatable here: skipped
		"fifo pipe",
	)
	l2 := unpackLines(t, s, "top",
		"file a/.wh.x",
		"dir o", "file o/.wh..wh..opq", "file o/new new",
	)
	raw := listTree(t, s.Dir(l2))
	for _, w := range []string{"char a/x 0:0", "file o/new 644 0:0 new"} {
		if !slices.Contains(raw, w) {
			t.Errorf("top layer lacks %q; has:\n%s", w, strings.Join(raw, "\n"))
		}
	}
	if v, err := getxattr(filepath.Join(s.Dir(l2), "o"), userOpaqueXattr); err != nil || v != "y" {
		t.Errorf("opaque dir: %s = %q, %v; want y", userOpaqueXattr, v, err)
	}
	if _, err := os.Lstat(filepath.Join(s.Dir(l1), "null")); !os.IsNotExist(err) {
		t.Errorf("device node in a user namespace: %v, want skipped", err)
	}
	m, err := s.Prepare(t.Context(), filepath.Join(dir, "c"), []digest.Digest{l1, l2})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(m.Options, "userxattr") {
		t.Errorf("mount options %q lack userxattr", m.Options)
	}
	merged := filepath.Join(dir, "c", "merged")
	mountOverlay(t, m, merged)
	got := listTree(t, merged)
	want := []string{"dir a 755 0:0", "file a/y 644 0:0 y", "dir o 755 0:0", "file o/new 644 0:0 new", "fifo pipe"}
	if d := diffLines(want, got); d != "" {
		t.Errorf("merged tree differs:\n%s", d)
	}
	if err := os.Remove(filepath.Join(merged, "a", "y")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(merged, "o")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(merged, "o"), 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Diff(t.Context(), []string{s.Dir(l1), s.Dir(l2)}, filepath.Join(dir, "c", "upper"), &buf, DiffOptions{}); err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	for _, w := range []string{"a/.wh.y", "o/.wh..wh..opq"} {
		if !slices.Contains(names, w) {
			t.Errorf("diff lacks %q: %q", w, names)
		}
	}
}
