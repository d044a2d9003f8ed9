package testutil

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func wantLeak(t *testing.T, err error, substr string) {
	t.Helper()
	if !errors.Is(err, ErrLeak) {
		t.Fatalf("FindLeaks = %v, want ErrLeak", err)
	}
	if !strings.Contains(err.Error(), substr) {
		t.Fatalf("FindLeaks = %v, want it to name %q", err, substr)
	}
}

func TestFindLeaksClean(t *testing.T) {
	if err := FindLeaks(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if err := FindLeaks(filepath.Join(t.TempDir(), "missing")); err != nil {
		t.Fatalf("missing root: %v", err)
	}
}

func TestFindLeaksTemp(t *testing.T) {
	root := t.TempDir()
	leak := filepath.Join(root, "layers", ".tmp-1234")
	if err := os.MkdirAll(filepath.Join(leak, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := FindLeaks(root)
	wantLeak(t, err, "temp file: "+leak)
	if strings.Contains(err.Error(), "sub") {
		t.Errorf("reported inside a leaked temp dir: %v", err)
	}
	if err := FindLeaks(root, WithTempPattern("*.partial")); err != nil {
		t.Errorf("other pattern: %v", err)
	}
}

func TestFindLeaksMount(t *testing.T) {
	RequireRoot(t)
	root := t.TempDir()
	mp := filepath.Join(root, "containers", "x", "merged")
	if err := os.MkdirAll(mp, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", mp, "tmpfs", 0, ""); err != nil {
		t.Fatalf("mount tmpfs %s: %v", mp, err)
	}
	t.Cleanup(func() { _ = unix.Unmount(mp, unix.MNT_DETACH) })
	// A temp-named dir inside the mount is not walked into.
	if err := os.Mkdir(filepath.Join(mp, ".tmp-inside"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := FindLeaks(root)
	wantLeak(t, err, "mount: "+mp+" (tmpfs tmpfs)")
	if strings.Contains(err.Error(), ".tmp-inside") {
		t.Errorf("walked into a mountpoint: %v", err)
	}
	if err := unix.Unmount(mp, 0); err != nil {
		t.Fatal(err)
	}
	if err := FindLeaks(root); err != nil {
		t.Fatalf("after unmount: %v", err)
	}
}

func TestFindLeaksChild(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	wantLeak(t, FindLeaks(t.TempDir()), fmt.Sprintf("process: pid %d (sleep) state ", pid))
	if err := FindLeaks(t.TempDir(), IgnorePIDs(pid)); err != nil {
		t.Errorf("IgnorePIDs: %v", err)
	}
	if err := FindLeaks(t.TempDir(), IgnoreChildren()); err != nil {
		t.Errorf("IgnoreChildren: %v", err)
	}
	_ = cmd.Process.Kill()
	// Killed but not reaped: a zombie is still a leak.
	for {
		st, err := readStat(pid)
		if err != nil {
			t.Fatal(err)
		}
		if st.state == "Z" {
			break
		}
	}
	wantLeak(t, FindLeaks(t.TempDir()), fmt.Sprintf("pid %d (sleep) state Z", pid))
	_ = cmd.Wait()
	if err := FindLeaks(t.TempDir()); err != nil {
		t.Errorf("after wait: %v", err)
	}
}

func TestFindLeaksCgroup(t *testing.T) {
	RequireRoot(t)
	var hier string
	for _, h := range []string{"pids", "memory", "unified"} {
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", h, "cgroup.procs")); err == nil {
			hier = h
			break
		}
	}
	Require(t, "a cgroup hierarchy under /sys/fs/cgroup", hier != "")
	prefix := RandomName("sktl")
	parent := filepath.Join("/sys/fs/cgroup", hier, prefix+"-parent")
	child := filepath.Join(parent, prefix+"-child")
	if err := os.MkdirAll(child, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(child); _ = os.Remove(parent) })
	err := FindLeaks(t.TempDir(), WithCgroupPrefix(prefix))
	wantLeak(t, err, "cgroup: "+parent)
	if strings.Contains(err.Error(), child) {
		t.Errorf("reported a child of a leaked cgroup: %v", err)
	}
	if err := FindLeaks(t.TempDir(), WithCgroupPrefix(prefix+"-child")); !errors.Is(err, ErrLeak) {
		t.Errorf("nested cgroup not found: %v", err)
	}
	_ = os.Remove(child)
	_ = os.Remove(parent)
	if err := FindLeaks(t.TempDir(), WithCgroupPrefix(prefix)); err != nil {
		t.Errorf("after rmdir: %v", err)
	}
}

func TestFindLeaksLink(t *testing.T) {
	RequireRoot(t)
	ip := RequireBinary(t, "ip")
	name := RandomName("sktl")
	if out, err := exec.Command(ip, "link", "add", name, "type", "bridge").CombinedOutput(); err != nil {
		t.Fatalf("ip link add %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() { _ = exec.Command(ip, "link", "del", name).Run() })
	wantLeak(t, FindLeaks(t.TempDir(), WithLinkPrefix(name)), "link: "+name)
	if out, err := exec.Command(ip, "link", "del", name).CombinedOutput(); err != nil {
		t.Fatalf("ip link del %s: %v: %s", name, err, out)
	}
	if err := FindLeaks(t.TempDir(), WithLinkPrefix(name)); err != nil {
		t.Errorf("after del: %v", err)
	}
}

// fakeTB records what CheckLeaks registers and reports.
type fakeTB struct {
	testing.TB
	cleanups []func()
	errs     []string
}

func (f *fakeTB) Helper()           {}
func (f *fakeTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *fakeTB) Errorf(format string, args ...any) {
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

func (f *fakeTB) runCleanups() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

func TestCheckLeaksReports(t *testing.T) {
	old := leakSettle
	leakSettle = 0
	t.Cleanup(func() { leakSettle = old })

	root := t.TempDir()
	f := &fakeTB{TB: t}
	CheckLeaks(f, root)
	if err := os.Mkdir(filepath.Join(root, ".tmp-x"), 0o755); err != nil {
		t.Fatal(err)
	}
	f.runCleanups()
	if len(f.errs) != 1 || !strings.Contains(f.errs[0], ".tmp-x") {
		t.Fatalf("CheckLeaks reported %q, want the .tmp-x dir", f.errs)
	}

	f = &fakeTB{TB: t}
	CheckLeaks(f, t.TempDir())
	f.runCleanups()
	if len(f.errs) != 0 {
		t.Fatalf("clean root: %q", f.errs)
	}
}

func TestCheckLeaksIgnoresEarlierChildren(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	f := &fakeTB{TB: t}
	CheckLeaks(f, t.TempDir())
	f.runCleanups()
	if len(f.errs) != 0 {
		t.Fatalf("child started before CheckLeaks reported: %q", f.errs)
	}
}

func TestCheckLeaksUndoesMounts(t *testing.T) {
	RequireRoot(t)
	old := leakSettle
	leakSettle = 0
	t.Cleanup(func() { leakSettle = old })

	root := t.TempDir()
	f := &fakeTB{TB: t}
	CheckLeaks(f, root)
	mp := filepath.Join(root, "m")
	if err := os.Mkdir(mp, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", mp, "tmpfs", 0, ""); err != nil {
		t.Fatalf("mount tmpfs %s: %v", mp, err)
	}
	t.Cleanup(func() { _ = unix.Unmount(mp, unix.MNT_DETACH) })
	f.runCleanups()
	if len(f.errs) != 1 || !strings.Contains(f.errs[0], "mount: "+mp) {
		t.Fatalf("CheckLeaks reported %q, want the tmpfs at %s", f.errs, mp)
	}
	if err := FindLeaks(root); err != nil {
		t.Fatalf("mount not detached after the report: %v", err)
	}
}
