package namespace_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	regexpkg "regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skiffrt/skiff/namespace"

	"github.com/skiffrt/skiff/internal/testutil"
)

// TestMain doubles the test binary as the container init.
func TestMain(m *testing.M) {
	namespace.Init()
	os.Exit(m.Run())
}

// require skips the test with reason unless ok; with CI=true it fails instead.
func require(t testing.TB, what string, ok bool) {
	t.Helper()
	testutil.Require(t, what, ok)
}

func requireRoot(t testing.TB) {
	t.Helper()
	require(t, "needs root", os.Geteuid() == 0)
}

// busyboxApplets are the applets linked in the test rootfs.
var busyboxApplets = []string{"sh", "echo", "ps", "hostname", "ls", "cat", "sleep", "true",
	"false", "touch", "readlink", "id", "pwd", "mount", "kill", "test", "grep", "wc", "stat"}

// busyboxRootfs makes a minimal rootfs from the host's static busybox
// (busybox-static): /bin/busybox, applet symlinks, empty /proc /dev /sys /tmp.
func busyboxRootfs(t testing.TB) string {
	t.Helper()
	requireRoot(t)
	bb, err := os.ReadFile("/bin/busybox")
	require(t, "needs /bin/busybox from busybox-static", err == nil)
	root := t.TempDir()
	for _, d := range []string{"bin", "proc", "dev", "sys", "tmp", "etc"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "bin/busybox"), bb, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, a := range busyboxApplets {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", a)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// result is what run collects from one container.
type result struct {
	status         namespace.ExitStatus
	stdout, stderr string
}

// newConfig returns a Config running args in rootfs with output captured in the
// returned buffers.
func newConfig(t testing.TB, rootfs string, args ...string) (*namespace.Config, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	spec := namespace.DefaultSpec(rootfs, args...)
	return &namespace.Config{Spec: spec, StateDir: t.TempDir(), Stdout: &stdout, Stderr: &stderr}, &stdout, &stderr
}

// run creates, starts and waits for cfg, failing the test on any error.
func run(t testing.TB, cfg *namespace.Config, stdout, stderr *bytes.Buffer) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := namespace.Create(ctx, cfg)
	if err != nil {
		t.Fatalf("Create %v: %v", cfg.Spec.Process.Args, err)
	}
	t.Cleanup(func() { _ = p.Signal(os.Kill) })
	if err := p.Start(); err != nil {
		t.Fatalf("Start %v: %v", cfg.Spec.Process.Args, err)
	}
	st, err := p.Wait()
	if err != nil {
		t.Fatalf("Wait %v: %v", cfg.Spec.Process.Args, err)
	}
	assertGone(t, p.Pid, cfg.Spec.Root.Path)
	return result{st, stdout.String(), stderr.String()}
}

// runArgs runs args in a fresh busybox rootfs.
func runArgs(t testing.TB, args ...string) result {
	t.Helper()
	cfg, o, e := newConfig(t, busyboxRootfs(t), args...)
	return run(t, cfg, o, e)
}

// assertGone checks that pid is reaped and nothing stays mounted under rootfs.
func assertGone(t testing.TB, pid int, rootfs string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid))); err == nil {
		t.Errorf("pid %d still exists after Wait", pid)
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mi), rootfs) {
		t.Errorf("mounts under %s leaked into the host:\n%s", rootfs, mi)
	}
}

func re(expr string) *regexpkg.Regexp { return regexpkg.MustCompile(expr) }
