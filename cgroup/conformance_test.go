package cgroup

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestConformance runs one suite against every backend this host has: what both v1 and
// v2 support without resource controllers (processes, freezer, kill, delete).
func TestConformance(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Run("CreateLoadDelete", func(t *testing.T) { testCreateLoadDelete(t, b) })
			t.Run("InvalidPath", func(t *testing.T) { testInvalidPath(t, b) })
			t.Run("AddProcProcs", func(t *testing.T) { testAddProcProcs(t, b) })
			t.Run("FreezeThaw", func(t *testing.T) { testFreezeThaw(t, b) })
			t.Run("Kill", func(t *testing.T) { testKill(t, b) })
			t.Run("KillFrozen", func(t *testing.T) { testKillFrozen(t, b) })
			t.Run("DeleteBusy", func(t *testing.T) { testDeleteBusy(t, b) })
			t.Run("Nested", func(t *testing.T) { testNested(t, b) })
			t.Run("Stats", func(t *testing.T) { testStats(t, b) })
			t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, b) })
		})
	}
}

func testCreateLoadDelete(t *testing.T, b backend) {
	m := newTestCgroup(t, b, Resources{})
	path := m.Path()
	for _, d := range b.dirs(path) {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			t.Fatalf("after New: %s missing: %v", d, err)
		}
	}
	// New on an existing cgroup reuses it.
	if _, err := b.new(path, Resources{}); err != nil {
		t.Fatalf("New of existing %s: %v", path, err)
	}
	l, err := b.load(path)
	if err != nil {
		t.Fatalf("Load %s: %v", path, err)
	}
	if l.Path() != path {
		t.Fatalf("Load path = %q, want %q", l.Path(), path)
	}
	if err := l.Delete(); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	for _, d := range b.dirs(path) {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("after Delete: %s still there (%v)", d, err)
		}
	}
	if err := m.Delete(); err != nil {
		t.Fatalf("second Delete must tolerate a missing cgroup: %v", err)
	}
	if _, err := b.load(path); !errors.Is(err, ErrNotExist) {
		t.Fatalf("Load of deleted %s: err = %v, want ErrNotExist", path, err)
	}
	if _, err := m.Procs(); !errors.Is(err, ErrNotExist) {
		t.Fatalf("Procs of deleted %s: err = %v, want ErrNotExist", path, err)
	}
}

func testInvalidPath(t *testing.T, b backend) {
	for _, p := range []string{"", "/", "relative", "/a/../b", "/a/"} {
		if _, err := b.new(p, Resources{}); !errors.Is(err, ErrInvalidPath) {
			t.Errorf("New(%q): err = %v, want ErrInvalidPath", p, err)
		}
		if _, err := b.load(p); !errors.Is(err, ErrInvalidPath) {
			t.Errorf("Load(%q): err = %v, want ErrInvalidPath", p, err)
		}
	}
	if _, err := b.new(testPath(t), Resources{MemorySwap: 5}); !errors.Is(err, ErrInvalidResources) {
		t.Errorf("New with MemorySwap and no MemoryLimit: err = %v, want ErrInvalidResources", err)
	}
}

func testAddProcProcs(t *testing.T, b backend) {
	m := newTestCgroup(t, b, Resources{})
	c := startCmd(t, exec.Command("sleep", "1000"))
	if err := m.AddProc(c.pid()); err != nil {
		t.Fatalf("AddProc(%d): %v", c.pid(), err)
	}
	pids, err := m.Procs()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pids, []int{c.pid()}) {
		t.Fatalf("Procs = %v, want [%d]", pids, c.pid())
	}
	// The kernel agrees: /proc/<pid>/cgroup names the path.
	data, err := os.ReadFile(filepath.Join("/proc", itoa(int64(c.pid())), "cgroup"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), ":"+m.Path()+"\n") {
		t.Fatalf("/proc/%d/cgroup does not name %s:\n%s", c.pid(), m.Path(), data)
	}
	if err := m.AddProc(0); err == nil {
		t.Fatal("AddProc(0) succeeded")
	}
	if err := m.AddProc(1 << 30); err == nil || !strings.Contains(err.Error(), m.Path()) {
		t.Fatalf("AddProc(no such pid): err = %v, want an error naming %s", err, m.Path())
	}
}

// counter reads the helper's progress counter.
func counter(t testing.TB, file string) uint64 {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 8 {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

func waitProgress(t testing.TB, file string, from uint64) uint64 {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if n := counter(t, file); n > from+5 {
			return n
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("helper made no progress past %d in 5s", from)
	return 0
}

func testFreezeThaw(t *testing.T, b backend) {
	m := newTestCgroup(t, b, Resources{})
	file := filepath.Join(t.TempDir(), "counter")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c := startHelper(t, "count", "SKIFF_HELPER_FILE="+file)
	if err := m.AddProc(c.pid()); err != nil {
		t.Fatal(err)
	}
	c.release(t)
	n := waitProgress(t, file, 0)

	start := time.Now()
	if err := m.Freeze(ctxT(t, 10*time.Second)); err != nil {
		t.Fatalf("Freeze: %v", err)
	}
	t.Logf("%s: freeze took %v", b.name, time.Since(start))
	if !b.frozen(t, m.Path()) {
		t.Fatal("after Freeze the kernel does not report the cgroup frozen")
	}
	frozenAt := counter(t, file)
	time.Sleep(300 * time.Millisecond)
	if now := counter(t, file); now != frozenAt {
		t.Fatalf("counter moved while frozen: %d → %d", frozenAt, now)
	}
	if frozenAt < n {
		t.Fatalf("counter went back: %d < %d", frozenAt, n)
	}
	// Freezing twice is fine.
	if err := m.Freeze(ctxT(t, 10*time.Second)); err != nil {
		t.Fatalf("second Freeze: %v", err)
	}
	start = time.Now()
	if err := m.Thaw(ctxT(t, 10*time.Second)); err != nil {
		t.Fatalf("Thaw: %v", err)
	}
	t.Logf("%s: thaw took %v", b.name, time.Since(start))
	if b.frozen(t, m.Path()) {
		t.Fatal("after Thaw the kernel still reports the cgroup frozen")
	}
	waitProgress(t, file, frozenAt)
}

func testKill(t *testing.T, b backend) {
	m := newTestCgroup(t, b, Resources{})
	// sh with two background children: Kill must get the whole tree, including processes
	// forked after AddProc.
	c := startCmd(t, exec.Command("sh", "-c", "read x; sleep 1000 & sleep 1000 & echo started; wait"))
	if err := m.AddProc(c.pid()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.stdin.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := c.stdout.ReadString('\n'); err != nil || line != "started\n" {
		t.Fatalf("sh said %q, %v", line, err)
	}
	pids, err := m.Procs()
	if err != nil || len(pids) != 3 {
		t.Fatalf("Procs = %v, %v; want 3 pids", pids, err)
	}
	start := time.Now()
	if err := m.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	t.Logf("%s: kill took %v", b.name, time.Since(start))
	if pids, err := m.Procs(); err != nil || len(pids) != 0 {
		t.Fatalf("after Kill: Procs = %v, %v; want none", pids, err)
	}
	err = c.wait(t, 5*time.Second)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("sh exit = %v, want killed by SIGKILL", err)
	}
	if b.frozen(t, m.Path()) {
		t.Fatal("Kill left the cgroup frozen")
	}
	if err := m.Kill(); err != nil {
		t.Fatalf("Kill of an empty cgroup: %v", err)
	}
	if err := m.Delete(); err != nil {
		t.Fatalf("Delete after Kill: %v", err)
	}
}

func testDeleteBusy(t *testing.T, b backend) {
	old := deleteBusyTimeout
	deleteBusyTimeout = 100 * time.Millisecond
	t.Cleanup(func() { deleteBusyTimeout = old })

	m := newTestCgroup(t, b, Resources{})
	c := startCmd(t, exec.Command("sleep", "1000"))
	if err := m.AddProc(c.pid()); err != nil {
		t.Fatal(err)
	}
	err := m.Delete()
	if !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("Delete with a live process: err = %v, want ErrNotEmpty", err)
	}
	if !strings.Contains(err.Error(), m.Path()) {
		t.Fatalf("error %q does not name %s", err, m.Path())
	}
	if c.exited() {
		t.Fatal("Delete killed the process")
	}
}

func testNested(t *testing.T, b backend) {
	path := testPath(t)
	m, err := b.new(path+"/a/b", Resources{})
	if err != nil {
		t.Fatal(err)
	}
	parent, err := b.load(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = parent.Kill(); _ = parent.Delete() })
	c := startCmd(t, exec.Command("sleep", "1000"))
	if err := m.AddProc(c.pid()); err != nil {
		t.Fatal(err)
	}
	// Kill of the parent reaches processes in cgroups below it; Delete removes the subtree.
	if err := parent.Kill(); err != nil {
		t.Fatalf("Kill of parent: %v", err)
	}
	c.wait(t, 5*time.Second)
	if err := parent.Delete(); err != nil {
		t.Fatalf("Delete of parent with children: %v", err)
	}
	for _, d := range b.dirs(path) {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s still there", d)
		}
	}
}

func testStats(t *testing.T, b backend) {
	m := newTestCgroup(t, b, Resources{})
	c := startCmd(t, exec.Command("sleep", "1000"))
	if err := m.AddProc(c.pid()); err != nil {
		t.Fatal(err)
	}
	st, err := m.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	t.Logf("%s stats: %+v", b.name, *st)
	if b.limits && st.PidsCurrent != 1 {
		t.Fatalf("PidsCurrent = %d, want 1", st.PidsCurrent)
	}
}

// docker kill of a paused container: Kill works on a frozen cgroup and leaves it thawed.
func testKillFrozen(t *testing.T, b backend) {
	m := newTestCgroup(t, b, Resources{})
	c := startCmd(t, exec.Command("sleep", "1000"))
	if err := m.AddProc(c.pid()); err != nil {
		t.Fatal(err)
	}
	if err := m.Freeze(ctxT(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := m.Kill(); err != nil {
		t.Fatalf("Kill of a frozen cgroup: %v", err)
	}
	if err := c.wait(t, 5*time.Second); err == nil {
		t.Fatal("sleep exited 0 after Kill")
	}
	if pids, err := m.Procs(); err != nil || len(pids) != 0 {
		t.Fatalf("after Kill: Procs = %v, %v", pids, err)
	}
	if err := m.Delete(); err != nil {
		t.Fatal(err)
	}
}

// New and Load pick the backend from DetectMode: v1 on legacy and hybrid hosts.
func TestNewPicksBackend(t *testing.T) {
	requireRoot(t)
	path := testPath(t)
	m, err := New(path, Resources{PidsLimit: 16})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Kill(); _ = m.Delete() })
	var file string
	switch DetectMode() {
	case Legacy, Hybrid:
		file = filepath.Join("/sys/fs/cgroup/pids", path, "pids.max")
	case Unified:
		file = filepath.Join(UnifiedMountpoint, path, "pids.max")
	}
	if got, err := readFile(file); err != nil || got != "16" {
		t.Fatalf("%s = %q, %v; want 16", file, got, err)
	}
	l, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Delete(); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); !errors.Is(err, ErrNotExist) {
		t.Fatalf("Load after Delete: %v, want ErrNotExist", err)
	}
}

// Without a memory controller in the v2 hierarchy, OOMKilled says so instead of guessing.
func TestV2NoMemoryController(t *testing.T) {
	for _, b := range backends(t) {
		if !strings.HasPrefix(b.name, "v2") || b.limits {
			continue
		}
		m := newTestCgroup(t, b, Resources{})
		if _, err := m.OOMKilled(); !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "memory.events") {
			t.Fatalf("OOMKilled: %v, want ErrNotSupported naming memory.events", err)
		}
		if err := m.Update(Resources{MemoryLimit: 1 << 30}); !errors.Is(err, ErrNotSupported) {
			t.Fatalf("Update with a memory limit: %v, want ErrNotSupported", err)
		}
		if err := m.Update(Resources{}); err != nil {
			t.Fatalf("Update with defaults only: %v", err)
		}
	}
}

// Many containers come and go at once under one parent (the engine's /skiff): creates and
// deletes of siblings must not disturb each other, and the parent stays usable.
func testConcurrent(t *testing.T, b backend) {
	parent := testPath(t)
	t.Cleanup(func() {
		if p, err := b.load(parent); err == nil {
			_ = p.Kill()
			_ = p.Delete()
		}
	})
	const n = 16
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			path := fmt.Sprintf("%s/c%d", parent, i)
			for round := 0; round < 5; round++ {
				m, err := b.new(path, Resources{})
				if err != nil {
					errs <- err
					return
				}
				if _, err := m.Procs(); err != nil {
					errs <- fmt.Errorf("round %d: %w", round, err)
					return
				}
				if err := m.Delete(); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	for _, d := range b.dirs(parent) {
		entries, err := os.ReadDir(d)
		if err != nil {
			t.Fatalf("parent %s: %v", d, err)
		}
		for _, e := range entries {
			if e.IsDir() {
				t.Errorf("leftover %s/%s", d, e.Name())
			}
		}
	}
}
