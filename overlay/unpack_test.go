package overlay

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/skiffrt/skiff/internal/lockfile"
	"golang.org/x/sys/unix"
)

func TestUnpackAllTypes(t *testing.T) {
	requireRoot(t)
	s := newTestStore(t)
	id := unpackLines(t, s, "all",
		"dir etc 750",
		"file etc/passwd root:x:0:0",
		"exec bin/sh #!",
		"symlink bin/ash sh",
		"symlink abs /etc/passwd",
		"link etc/passwd2 etc/passwd",
		"char dev/null 1 3",
		"block dev/loop0 7 0",
		"fifo run/fifo",
		"owner home/user/f 1000 1001",
		"xattr f user.k=v",
		"xattr g trusted.overlay.redirect=/x",
		"xattr h user.overlay.opaque=y",
		"file /absolute/name x",
		"file ./dot/name y",
		"file .wh.gone",
		"dir opq",
		"file opq/.wh..wh..opq",
		"file opq/kept k",
		"file .wh..wh.plnk",
		"file again first",
		"file again second",
		"dir became-file",
		"file became-file/child c",
		"file became-file now a file",
	)
	want := []string{
		"dir absolute 755 0:0",
		"dir bin 755 0:0",
		"dir dev 755 0:0",
		"dir dot 755 0:0",
		"dir etc 750 0:0",
		"dir home 755 0:0",
		"dir home/user 755 0:0",
		"dir opq 755 0:0 opaque=y",
		"dir run 755 0:0",
		"file absolute/name 644 0:0 x",
		"file again 644 0:0 second",
		"file became-file 644 0:0 now a file",
		"file bin/sh 755 0:0 #!",
		"file dot/name 644 0:0 y",
		"file etc/passwd 644 0:0 root:x:0:0 nlink=2",
		"file etc/passwd2 644 0:0 root:x:0:0 nlink=2",
		"file f 644 0:0",
		"file g 644 0:0",
		"file h 644 0:0",
		"file home/user/f 644 1000:1001",
		"file opq/kept 644 0:0 k",
		"block dev/loop0 7:0",
		"char dev/null 1:3",
		"char gone 0:0",
		"fifo run/fifo",
		"symlink abs -> /etc/passwd",
		"symlink bin/ash -> sh",
	}
	slices.Sort(want)
	got := listTree(t, s.Dir(id))
	if d := diffLines(want, got); d != "" {
		t.Errorf("layer tree differs:\n%s", d)
	}
	if v, err := getxattr(filepath.Join(s.Dir(id), "f"), "user.k"); err != nil || v != "v" {
		t.Errorf("xattr user.k of f = %q, %v; want v", v, err)
	}
	if _, err := getxattr(filepath.Join(s.Dir(id), "g"), "trusted.overlay.redirect"); err == nil {
		t.Errorf("trusted.overlay.* xattr from the tar was applied")
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(s.Dir(id), "etc"), &st); err != nil {
		t.Fatal(err)
	}
	if mt := time.Unix(st.Mtim.Unix()); !mt.Equal(fixedTime) {
		t.Errorf("mtime of dir etc = %v, want %v (dir times must be set after contents)", mt, fixedTime)
	}
	if err := unix.Lstat(filepath.Join(s.Dir(id), "abs"), &st); err != nil {
		t.Fatal(err)
	}
	if mt := time.Unix(st.Mtim.Unix()); !mt.Equal(fixedTime) {
		t.Errorf("mtime of symlink abs = %v, want %v", mt, fixedTime)
	}
	if !s.Has(id) {
		t.Errorf("Has(%s) = false after Unpack", id)
	}
	l, err := s.List()
	if err != nil || len(l) != 1 || l[0] != id {
		t.Errorf("List = %v, %v; want [%s]", l, err, id)
	}
	noTempDirs(t, s)
}

func TestUnpackDiffIDMismatch(t *testing.T) {
	requireRoot(t)
	s := newTestStore(t)
	b := makeTar(t, "file a hello")
	want := digest.FromString("something else")
	id := chainFor("mismatch")
	err := s.Unpack(t.Context(), id, want, bytes.NewReader(b))
	if !errors.Is(err, ErrDiffIDMismatch) {
		t.Fatalf("Unpack with wrong diffID: err = %v, want ErrDiffIDMismatch", err)
	}
	for _, d := range []string{want.String(), sha(b).String(), id.String()} {
		if !bytes.Contains([]byte(err.Error()), []byte(d)) {
			t.Errorf("error %q does not name %s", err, d)
		}
	}
	if s.Has(id) {
		t.Errorf("layer visible after a diffID mismatch")
	}
	noTempDirs(t, s)
	if ents, _ := os.ReadDir(filepath.Join(s.Root(), linksDir)); len(ents) != 0 {
		t.Errorf("short links left: %v", ents)
	}
}

// The digest covers the stream to EOF: trailing padding after the tar's end
// blocks is hashed too.
func TestUnpackHashesPadding(t *testing.T) {
	requireRoot(t)
	s := newTestStore(t)
	b := makeTar(t, "file a hello")
	b = append(b, make([]byte, 10240-len(b)%10240)...)
	if err := s.Unpack(t.Context(), chainFor("pad"), sha(b), bytes.NewReader(b)); err != nil {
		t.Fatalf("Unpack of a padded tar: %v", err)
	}
	short := b[:len(b)-512]
	err := s.Unpack(t.Context(), chainFor("pad2"), sha(b), bytes.NewReader(short))
	if !errors.Is(err, ErrDiffIDMismatch) {
		t.Fatalf("Unpack of the tar minus padding with the padded digest: %v, want mismatch", err)
	}
}

func TestUnpackTruncatedAndCancelled(t *testing.T) {
	requireRoot(t)
	s := newTestStore(t)
	b := makeTar(t, "file a "+string(bytes.Repeat([]byte("x"), 5000)), "file b y")
	if err := s.Unpack(t.Context(), chainFor("trunc"), sha(b), bytes.NewReader(b[:1500])); err == nil {
		t.Errorf("Unpack of a truncated tar succeeded")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Unpack(ctx, chainFor("cancel"), sha(b), bytes.NewReader(b)); !errors.Is(err, context.Canceled) {
		t.Errorf("Unpack with a cancelled ctx: %v, want context.Canceled", err)
	}
	// Cancelled in the middle of the stream.
	ctx, cancel = context.WithCancel(t.Context())
	r := &cancelAfter{r: bytes.NewReader(b), n: 1024, cancel: cancel}
	if err := s.Unpack(ctx, chainFor("cancel2"), sha(b), r); !errors.Is(err, context.Canceled) {
		t.Errorf("Unpack cancelled mid-stream: %v, want context.Canceled", err)
	}
	if l, _ := s.List(); len(l) != 0 {
		t.Errorf("layers visible after failures: %v", l)
	}
	noTempDirs(t, s)
}

type cancelAfter struct {
	r      io.Reader
	n      int
	cancel func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
	}
	if len(p) > 512 {
		p = p[:512]
	}
	n, err := c.r.Read(p)
	c.n -= n
	return n, err
}

func TestUnpackInvalidDigests(t *testing.T) {
	s := newTestStore(t)
	b := makeTar(t, "file a x")
	for _, tc := range []struct{ chain, diff digest.Digest }{
		{"sha256:zz", sha(b)},
		{digest.SHA512.FromBytes(b), sha(b)},
		{chainFor("x"), "nope"},
	} {
		if err := s.Unpack(t.Context(), tc.chain, tc.diff, bytes.NewReader(b)); !errors.Is(err, ErrInvalidDigest) {
			t.Errorf("Unpack(%q, %q) = %v, want ErrInvalidDigest", tc.chain, tc.diff, err)
		}
	}
}

func TestUnpackConcurrentSameLayer(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	lines := []string{"dir d"}
	for i := range 200 {
		lines = append(lines, "file d/f"+string(rune('a'+i%26))+string(rune('a'+i/26))+" data")
	}
	b := makeTar(t, lines...)
	id := chainFor("concurrent")
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			s, err := NewStore(root) // separate Stores: separate lock fds, like processes
			if err != nil {
				errs[i] = err
				return
			}
			errs[i] = s.Unpack(t.Context(), id, sha(b), bytes.NewReader(b))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Unpack #%d: %v", i, err)
		}
	}
	s, _ := NewStore(root)
	if got := len(listTree(t, s.Dir(id))); got != 201 {
		t.Errorf("layer has %d entries, want 201", got)
	}
	if l, _ := s.List(); len(l) != 1 {
		t.Errorf("List = %v, want one layer", l)
	}
	noTempDirs(t, s)
}

// A second Unpack of an existing layer returns at once without reading.
func TestUnpackExistingDoesNotRead(t *testing.T) {
	requireRoot(t)
	s := newTestStore(t)
	id := unpackLines(t, s, "once", "file a x")
	if err := s.Unpack(t.Context(), id, digest.FromString("ignored"), failReader{}); err != nil {
		t.Errorf("second Unpack: %v", err)
	}
}

type failReader struct{}

func (failReader) Read([]byte) (int, error) { return 0, errors.New("must not be read") }

func TestRemoveAndCheck(t *testing.T) {
	requireRoot(t)
	s := newTestStore(t)
	id := unpackLines(t, s, "rm", "file a x")
	if err := s.Remove(t.Context(), id); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if s.Has(id) {
		t.Errorf("Has after Remove")
	}
	if err := s.Remove(t.Context(), id); !errors.Is(err, ErrLayerNotFound) {
		t.Errorf("second Remove: %v, want ErrLayerNotFound", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(s.Root(), linksDir)); len(ents) != 0 {
		t.Errorf("short links left after Remove: %v", ents)
	}
	if ents, _ := os.ReadDir(filepath.Join(s.Root(), locksDir)); len(ents) != 0 {
		t.Errorf("lock files left after Remove: %v", ents)
	}
	// A failed unpack leaves no lock file either.
	bad := makeTar(t, "file a x")
	if err := s.Unpack(t.Context(), id, digest.FromString("other"), bytes.NewReader(bad)); err == nil {
		t.Fatal("Unpack with a wrong diffID succeeded")
	}
	if ents, _ := os.ReadDir(filepath.Join(s.Root(), locksDir)); len(ents) != 0 {
		t.Errorf("lock files left after a failed Unpack: %v", ents)
	}
	// A lock file of a layer that is gone (left by a killed process) goes with Check's
	// repair; a held one stays.
	orphan := filepath.Join(s.Root(), locksDir, chainFor("orphan").Encoded())
	if err := os.WriteFile(orphan, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	busy := filepath.Join(s.Root(), locksDir, chainFor("busy").Encoded())
	held, err := lockfile.TryLockRemovable(busy, lockfile.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()
	// A killed unpack leaves a temp dir; Check removes it.
	stale := filepath.Join(s.Root(), tmpPfx+id.Encoded()+"-123")
	if err := os.MkdirAll(filepath.Join(stale, "diff", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Check(t.Context(), true)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if len(rep.Temps) != 1 || rep.Temps[0] != stale {
		t.Errorf("Check found temps %q, want [%s]", rep.Temps, stale)
	}
	noTempDirs(t, s)
	if _, err := os.Stat(orphan); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the lock file of a missing layer is still there after repair: %v", err)
	}
	if _, err := os.Stat(busy); err != nil {
		t.Errorf("repair removed a held lock file: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(s.Root(), locksDir)); len(ents) != 1 {
		t.Errorf("lock files after repair: %v, want only the held one", ents)
	}
}

// TestUnpackRemoveRace: Unpack and Remove of one layer from several Stores at once
// (separate lock file descriptions, as separate processes have) while Remove deletes
// the layer's lock file: every call succeeds (or finds the layer gone), and the store
// ends clean, with a complete layer or none and at most its one lock file.
func TestUnpackRemoveRace(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	b := makeTar(t, "dir d", "file d/a one", "file d/b two")
	id := chainFor("race")
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 4 {
		wg.Go(func() {
			s, err := NewStore(root, WithoutSync())
			if err != nil {
				errs <- err
				return
			}
			for range 25 {
				if err := s.Unpack(t.Context(), id, sha(b), bytes.NewReader(b)); err != nil {
					errs <- err
					return
				}
				if err := s.Remove(t.Context(), id); err != nil && !errors.Is(err, ErrLayerNotFound) {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s, _ := NewStore(root)
	if s.Has(id) {
		if got := len(listTree(t, s.Dir(id))); got != 3 {
			t.Errorf("layer has %d entries, want 3", got)
		}
	}
	rep, err := s.Check(t.Context(), false)
	if err != nil || !rep.Clean() {
		t.Errorf("check: %+v, %v", rep, err)
	}
	if ents, _ := os.ReadDir(filepath.Join(s.Root(), locksDir)); len(ents) > 1 {
		t.Errorf("lock files: %v", ents)
	}
	noTempDirs(t, s)
}

// TestUnpackConcurrentProcesses runs Unpack of one layer in several processes
// at once (the test binary re-executed as a helper): all succeed, one copy.
func TestUnpackConcurrentProcesses(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	lines := []string{"dir d"}
	for i := range 300 {
		lines = append(lines, fmt.Sprintf("file d/f%03d %d", i, i))
	}
	b := makeTar(t, lines...)
	tarPath := filepath.Join(t.TempDir(), "layer.tar")
	if err := os.WriteFile(tarPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	id := chainFor("processes")
	const n = 4
	cmds := make([]*exec.Cmd, n)
	outs := make([]*bytes.Buffer, n)
	for i := range n {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "SKIFF_OVERLAY_HELPER=unpack", "HELPER_ROOT="+root,
			"HELPER_TAR="+tarPath, "HELPER_CHAIN="+id.String(), "HELPER_DIFF="+sha(b).String())
		outs[i] = &bytes.Buffer{}
		cmd.Stdout, cmd.Stderr = outs[i], outs[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("helper %d: %v: %s", i, err, outs[i])
		}
	}
	s, _ := NewStore(root)
	if got := len(listTree(t, s.Dir(id))); got != 301 {
		t.Errorf("layer has %d entries, want 301", got)
	}
	if l, _ := s.List(); len(l) != 1 {
		t.Errorf("List = %v, want one layer", l)
	}
	noTempDirs(t, s)
}

// Without the lock (e.g. a file system where flock does nothing), the rename
// still lets exactly one copy win and the loser succeeds.
func TestUnpackRenameLosesGracefully(t *testing.T) {
	requireRoot(t)
	s := newTestStore(t)
	b := makeTar(t, "file a x", "file b y")
	hex := chainFor("race").Encoded()
	for range 2 {
		if _, err := s.unpackLocked(t.Context(), hex, sha(b), bytes.NewReader(b)); err != nil {
			t.Fatalf("unpackLocked: %v", err)
		}
	}
	if got := listTree(t, s.Dir(chainFor("race"))); len(got) != 2 {
		t.Errorf("layer = %q", got)
	}
	if _, err := os.Stat(filepath.Join(s.Root(), linksDir, shortName(hex))); err != nil {
		t.Errorf("short link gone after the losing unpack: %v", err)
	}
	noTempDirs(t, s)
}

func TestEntryXattrsLibarchive(t *testing.T) {
	hdr := &tar.Header{PAXRecords: map[string]string{
		"LIBARCHIVE.xattr.user.a%3Db": "dmFsdWU=", // user.a=b = "value"
		"LIBARCHIVE.xattr.user.dup":   "b3RoZXI=",
		"SCHILY.xattr.user.dup":       "schily wins",
		"path":                        "ignored",
	}}
	got := entryXattrs(hdr)
	want := map[string]string{"user.a=b": "value", "user.dup": "schily wins"}
	if !maps.Equal(got, want) {
		t.Errorf("entryXattrs = %q, want %q", got, want)
	}
}

// Directory times go to the directory they were given for, even when the
// tree changes later in the tar.
func TestUnpackDirTimesAfterReplacement(t *testing.T) {
	requireRoot(t)
	s := newTestStore(t)
	b := makeTar(t, "dir d", "dir d/sub", "symlink d missing-target", "dir e", "file e x")
	id := chainFor("dirtimes")
	if err := s.Unpack(t.Context(), id, sha(b), bytes.NewReader(b)); err != nil {
		t.Fatalf("Unpack: %v", err)
	}
	want := []string{"symlink d -> missing-target", "file e 644 0:0 x"}
	if d := diffLines(want, listTree(t, s.Dir(id))); d != "" {
		t.Errorf("tree differs:\n%s", d)
	}
}
