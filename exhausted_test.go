package skiff_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sys/unix"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/errdefs"
	"github.com/skiffrt/skiff/internal/testutil"
)

// smallRoot mounts a tmpfs of size bytes under a temp dir (unmounted in t.Cleanup, after
// everything registered later) and returns an engine whose root is on it.
func smallRoot(t *testing.T, size int64) *skiff.Engine {
	t.Helper()
	testutil.RequireRoot(t)
	mnt := filepath.Join(t.TempDir(), "fs")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("skiff-test-full", mnt, "tmpfs", 0, "size="+strconv.FormatInt(size, 10)); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", mnt, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(mnt, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})
	link := testutil.RandomName("skt")
	parent := testutil.RandomName("skiff-test-")
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	e, err := skiff.New(skiff.WithRoot(filepath.Join(mnt, "root")), skiff.WithCgroupParent(parent),
		skiff.WithNetworkNames(link, link), skiff.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + parent)
		for _, d := range dirs {
			os.Remove(d)
		}
	})
	return e
}

// fill writes a file that leaves about free bytes on dir's file system; the returned
// function removes it.
func fill(t *testing.T, dir string, free int64) func() {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	size := int64(st.Bavail)*st.Bsize - free
	if size <= 0 {
		t.Fatalf("%s has only %d bytes free, want more than %d", dir, int64(st.Bavail)*st.Bsize, free)
	}
	p := filepath.Join(filepath.Dir(dir), "filler")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Fallocate(int(f.Fd()), 0, 0, size); err != nil {
		t.Fatalf("fallocate %d bytes of %s: %v", size, p, err)
	}
	f.Close()
	return func() { os.Remove(p) }
}

// storeListing lists what is on disk under root (type, size, path; dirs without a
// size), leaving out the event journal and the layer store's lock files (an unpack
// that fails for want of descriptors may leave its layer's lock file to the next
// Check or removal).
func storeListing(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "events" {
			return filepath.SkipDir
		}
		if strings.HasPrefix(rel, filepath.Join("layers", "layers", "locks")+"/") {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			out = append(out, "d "+rel)
		} else {
			out = append(out, fmt.Sprintf("%s %d %s", fi.Mode().Type(), fi.Size(), rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameStore(t *testing.T, what string, before, after []string) {
	t.Helper()
	if slices.Equal(before, after) {
		return
	}
	var added, gone []string
	for _, a := range after {
		if !slices.Contains(before, a) {
			added = append(added, a)
		}
	}
	for _, b := range before {
		if !slices.Contains(after, b) {
			gone = append(gone, b)
		}
	}
	t.Errorf("%s changed the store: added %q, removed %q", what, added, gone)
}

func checkClean(t *testing.T, e *skiff.Engine, what string) {
	t.Helper()
	rep, err := e.Check(context.Background(), skiff.CheckOptions{})
	if err != nil {
		t.Fatalf("check after %s: %v", what, err)
	}
	if !rep.Clean() {
		t.Errorf("check after %s is not clean: %+v (images: %+v)", what, rep, rep.Images)
	}
}

// wantFull checks that err is a full disk's error naming a path on the engine's root.
func wantFull(t *testing.T, e *skiff.Engine, what string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s on a full file system succeeded", what)
	}
	t.Logf("%s: %v", what, err)
	if !errors.Is(err, skiff.ErrNoSpace) || !errors.Is(err, syscall.ENOSPC) || !errors.Is(err, errdefs.ErrResourceExhausted) {
		t.Errorf("%s: %v is not ErrNoSpace, ENOSPC and ErrResourceExhausted", what, err)
	}
	if !strings.Contains(err.Error(), filepath.Dir(e.Root())) {
		t.Errorf("%s: %q names no path under %s", what, err, filepath.Dir(e.Root()))
	}
	if strings.Contains(err.Error(), "size mismatch") || strings.Contains(err.Error(), "digest mismatch") {
		t.Errorf("%s: %q blames the download for the full disk", what, err)
	}
}

// bigImage pushes busybox with a layer of size random (incompressible) bytes on top.
func bigImage(t *testing.T, addr string, size int64) string {
	t.Helper()
	l, err := random.Layer(size, types.DockerLayer)
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(testutil.Busybox(t), l)
	if err != nil {
		t.Fatal(err)
	}
	ref := addr + "/skiff/big:latest"
	testutil.PushImage(t, ref, img)
	return ref
}

// warmBuildCache builds a small image, so that the build cache's dirs exist before a
// store listing is taken.
func warmBuildCache(t *testing.T, e *skiff.Engine, base string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+base+"\nCOPY Dockerfile /\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Build(context.Background(), skiff.BuildOptions{ContextDir: dir, Tags: []string{"full/warm:latest"}}); err != nil {
		t.Fatal(err)
	}
}

// TestFullDiskPull: a pull that fills the root's file system fails with ErrNoSpace
// naming the file it could not write and leaves the store as it was (no image, blob,
// layer or temp of it); once space is freed the same pull succeeds.
func TestFullDiskPull(t *testing.T) {
	e := smallRoot(t, 64<<20)
	addr := testutil.StartRegistry(t)
	ctx := context.Background()
	base := addr + "/skiff/busybox:latest"
	testutil.PushImage(t, base, testutil.Busybox(t))
	big := bigImage(t, addr, 16<<20)
	if _, err := e.Pull(ctx, base); err != nil {
		t.Fatal(err)
	}
	before := storeListing(t, e.Root())
	// 24 MiB free: the 16 MiB blob and its unpacked copy need 32.
	unfill := fill(t, e.Root(), 24<<20)
	_, err := e.Pull(ctx, big)
	wantFull(t, e, "pull", err)
	sameStore(t, "a pull on a full disk", before, storeListing(t, e.Root()))
	checkClean(t, e, "a pull on a full disk")
	unfill()
	if _, err := e.Pull(ctx, big); err != nil {
		t.Fatalf("pull after space was freed: %v", err)
	}
	checkClean(t, e, "a pull after space was freed")
}

// TestFullDiskBuild: a build whose COPY fills the file system fails with ErrNoSpace
// naming a path, stores no image and leaves no layer or temp; with space it succeeds.
func TestFullDiskBuild(t *testing.T) {
	// The build keeps the 16 MiB three times (the step's upper dir, the layer blob in
	// the build cache and in the image store) and a fourth time unpacked.
	e := smallRoot(t, 96<<20)
	addr := testutil.StartRegistry(t)
	ctx := context.Background()
	base := addr + "/skiff/busybox:latest"
	testutil.PushImage(t, base, testutil.Busybox(t))
	if _, err := e.Pull(ctx, base); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	blob := make([]byte, 16<<20)
	rand.Read(blob)
	if err := os.WriteFile(filepath.Join(dir, "blob"), blob, 0o644); err != nil {
		t.Fatal(err)
	}
	df := fmt.Sprintf("FROM %s\nCOPY blob /blob\n", base)
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := skiff.BuildOptions{ContextDir: dir, Tags: []string{"full/build:latest"}}
	warmBuildCache(t, e, base)
	before := storeListing(t, e.Root())
	unfill := fill(t, e.Root(), 24<<20)
	_, err := e.Build(ctx, opts)
	wantFull(t, e, "build", err)
	after := storeListing(t, e.Root())
	sameStore(t, "a build on a full disk", before, after)
	checkClean(t, e, "a build on a full disk")
	unfill()
	if _, err := e.Build(ctx, opts); err != nil {
		t.Fatalf("build after space was freed: %v", err)
	}
	checkClean(t, e, "a build after space was freed")
}

// TestFullDiskCommit: committing a container whose changes do not fit fails with
// ErrNoSpace naming a path and stores nothing; with space it succeeds.
func TestFullDiskCommit(t *testing.T) {
	e := smallRoot(t, 64<<20)
	addr := testutil.StartRegistry(t)
	ctx := context.Background()
	base := addr + "/skiff/busybox:latest"
	testutil.PushImage(t, base, testutil.Busybox(t))
	if _, err := e.Pull(ctx, base); err != nil {
		t.Fatal(err)
	}
	c, err := e.Create(ctx, skiff.ContainerConfig{Image: base, Network: skiff.NetworkNone, Cmd: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Delete(context.Background(), skiff.WithForce()); err != nil {
			t.Errorf("delete: %v", err)
		}
	})
	warmBuildCache(t, e, base)
	// The container's change: 12 MiB of random bytes in its upper dir.
	blob := make([]byte, 12<<20)
	rand.Read(blob)
	upper := filepath.Join(e.Root(), "containers", c.ID(), "upper")
	if err := os.WriteFile(filepath.Join(upper, "blob"), blob, 0o644); err != nil {
		t.Fatal(err)
	}
	before := storeListing(t, e.Root())
	// 16 MiB free: the layer's blob and its unpacked copy need 24.
	unfill := fill(t, e.Root(), 16<<20)
	_, err = c.Commit(ctx, skiff.CommitOptions{Ref: "full/commit:latest"})
	wantFull(t, e, "commit", err)
	sameStore(t, "a commit on a full disk", before, storeListing(t, e.Root()))
	checkClean(t, e, "a commit on a full disk")
	unfill()
	if _, err := c.Commit(ctx, skiff.CommitOptions{Ref: "full/commit:latest"}); err != nil {
		t.Fatalf("commit after space was freed: %v", err)
	}
}

// TestTooManyFiles runs pulls (and, in a second helper, builds) in a helper process
// whose RLIMIT_NOFILE is lowered to a few more descriptors than it has open, one more
// for each try until the operation succeeds: each failure must be ErrTooManyFiles naming
// a path on the root (or in the build context, or the registry's address, for a socket)
// and leave the store as it was and Check clean.
func TestTooManyFiles(t *testing.T) {
	testutil.RequireRoot(t)
	addr := testutil.StartRegistry(t)
	ref := addr + "/skiff/big:latest"
	bigImage(t, addr, 1<<20)
	for _, op := range []string{"pull", "build", "commit"} {
		t.Run(op, func(t *testing.T) {
			root := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			c := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperTooManyFiles$", "-test.v")
			c.Env = append(os.Environ(), "SKIFF_HELPER_ROOT="+root, "SKIFF_HELPER_IMAGE="+ref,
				"SKIFF_HELPER_REGISTRY="+addr, "SKIFF_HELPER_OP="+op, "SKIFF_HELPER_CONTEXT="+t.TempDir())
			out, err := c.CombinedOutput()
			t.Logf("helper:\n%s", out)
			if err != nil {
				t.Fatalf("helper: %v", err)
			}
			if !strings.Contains(string(out), "too many open files") {
				t.Fatalf("no %s failed for lack of descriptors: the limits tried were too high", op)
			}
		})
	}
}

// TestHelperTooManyFiles runs only as TestTooManyFiles's helper process.
func TestHelperTooManyFiles(t *testing.T) {
	root := os.Getenv("SKIFF_HELPER_ROOT")
	if root == "" {
		t.Skip("helper process of TestTooManyFiles")
	}
	ref, reg, opName := os.Getenv("SKIFF_HELPER_IMAGE"), os.Getenv("SKIFF_HELPER_REGISTRY"), os.Getenv("SKIFF_HELPER_OP")
	// A build may run out while it reads its context: then the error names that file.
	ctxDir := os.Getenv("SKIFF_HELPER_CONTEXT")
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	link, parent := testutil.RandomName("skt"), testutil.RandomName("skiff-test-")
	e, err := skiff.New(skiff.WithRoot(root), skiff.WithLogger(quiet), skiff.WithNetworkNames(link, link),
		skiff.WithCgroupParent(parent))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + parent)
		for _, d := range dirs {
			os.Remove(d)
		}
	})
	ctx := context.Background()
	op := func() error { _, err := e.Pull(ctx, ref); return err }
	if opName == "build" {
		// The base image is in the store; the build copies a context of many files.
		if _, err := e.Pull(ctx, ref); err != nil {
			t.Fatal(err)
		}
		dir := ctxDir
		for i := range 64 {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%02d", i)), []byte(strings.Repeat("x", i*1000)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+ref+"\nCOPY . /ctx/\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		warmBuildCache(t, e, ref)
		op = func() error {
			_, err := e.Build(ctx, skiff.BuildOptions{ContextDir: dir, Tags: []string{"emfile/build:latest"}})
			return err
		}
	}
	if opName == "commit" {
		// A container with many changed files in its upper dir.
		if _, err := e.Pull(ctx, ref); err != nil {
			t.Fatal(err)
		}
		warmBuildCache(t, e, ref)
		c, err := e.Create(ctx, skiff.ContainerConfig{Image: ref, Network: skiff.NetworkNone, Cmd: []string{"true"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := c.Delete(context.Background(), skiff.WithForce()); err != nil {
				t.Errorf("delete: %v", err)
			}
		})
		upper := filepath.Join(root, "containers", c.ID(), "upper")
		for i := range 64 {
			if err := os.WriteFile(filepath.Join(upper, fmt.Sprintf("f%02d", i)), []byte(strings.Repeat("x", i*1000)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		op = func() error {
			_, err := c.Commit(ctx, skiff.CommitOptions{Ref: "emfile/commit:latest"})
			return err
		}
	}
	// The root's lock file is made by the first operation that locks the root.
	if _, err := e.Check(ctx, skiff.CheckOptions{}); err != nil {
		t.Fatal(err)
	}
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	open := uint64(len(fds))
	// One more descriptor at a time at first (each try fails somewhere else), then
	// wider steps up to what a pull of parallel layers with parallel file writes needs.
	var steps []uint64
	for extra := uint64(0); extra < 48; extra++ {
		steps = append(steps, extra)
	}
	for extra := uint64(48); extra <= 1024; extra += extra / 4 {
		steps = append(steps, extra)
	}
	for _, extra := range steps {
		before := storeListing(t, root)
		low := lim
		low.Cur = open + extra
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &low); err != nil {
			t.Fatal(err)
		}
		err := op()
		if serr := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); serr != nil {
			t.Fatal(serr)
		}
		if err == nil {
			t.Logf("limit %d (%d open + %d): %s succeeded", low.Cur, open, extra, opName)
			checkClean(t, e, "the "+opName)
			return
		}
		t.Logf("limit %d (%d open + %d): %v", low.Cur, open, extra, err)
		if !errors.Is(err, skiff.ErrTooManyFiles) || !errors.Is(err, errdefs.ErrResourceExhausted) {
			t.Errorf("limit %d: %v is not ErrTooManyFiles", low.Cur, err)
		}
		named := strings.Contains(err.Error(), root) || strings.Contains(err.Error(), reg) ||
			(opName == "build" && strings.Contains(err.Error(), ctxDir))
		if !named {
			t.Errorf("limit %d: %q names no path under %s (or the build context) nor the registry %s", low.Cur, err, root, reg)
		}
		// With fewer than 4 descriptors to spare even the cleanup cannot open the temp
		// dirs it removes: then the next operation's heal removes them (and the
		// successful one must find the store clean).
		if extra >= 4 {
			what := fmt.Sprintf("a %s with %d descriptors", opName, low.Cur)
			after := storeListing(t, root)
			// The operation may heal what an earlier try with fewer descriptors left.
			before = slices.DeleteFunc(before, func(e string) bool {
				return (strings.Contains(e, " .tmp-") || strings.Contains(e, "/.tmp-")) && !slices.Contains(after, e)
			})
			sameStore(t, what, before, after)
			checkClean(t, e, what)
		}
	}
	t.Fatalf("no %s succeeded with up to %d descriptors", opName, open+steps[len(steps)-1])
}
