package cgroup

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLimits checks what the kernel does with the limits, on every backend whose hierarchy
// offers the memory, pids and cpu controllers (v1 here; v2 on a unified host).
func TestLimits(t *testing.T) {
	for _, b := range backends(t) {
		if !b.limits {
			t.Logf("%s: hierarchy has no memory/pids/cpu controllers; limits tested on the other backend", b.name)
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			t.Run("PidsForkLoop", func(t *testing.T) { testPidsForkLoop(t, b) })
			t.Run("MemoryOOM", func(t *testing.T) { testMemoryOOM(t, b) })
			t.Run("MemoryUnderLimit", func(t *testing.T) { testMemoryUnderLimit(t, b) })
			t.Run("CPUQuota", func(t *testing.T) { testCPUQuota(t, b) })
			t.Run("Update", func(t *testing.T) { testUpdate(t, b) })
		})
	}
}

// pids.max 8: a loop of raw fork() calls in the cgroup is stopped by EAGAIN.
func testPidsForkLoop(t *testing.T, b backend) {
	m := newTestCgroup(t, b, Resources{PidsLimit: 8})
	c := startHelper(t, "forkloop")
	if err := m.AddProc(c.pid()); err != nil {
		t.Fatal(err)
	}
	c.release(t)
	line, err := c.stdout.ReadString('\n')
	if err != nil {
		t.Fatalf("helper output: %q, %v", line, err)
	}
	var forked, errno int
	if _, err := fmt.Sscanf(line, "forked %d errno %d", &forked, &errno); err != nil {
		t.Fatalf("helper said %q: %v", line, err)
	}
	t.Logf("forked %d children before errno %d", forked, errno)
	if syscall.Errno(errno) != syscall.EAGAIN {
		t.Fatalf("fork loop stopped with errno %d (%v), want EAGAIN", errno, syscall.Errno(errno))
	}
	if forked >= 8 {
		t.Fatalf("forked %d children under pids.max 8", forked)
	}
	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.PidsCurrent != 8 || st.PidsLimit != 8 {
		t.Fatalf("pids current/limit = %d/%d, want 8/8", st.PidsCurrent, st.PidsLimit)
	}
	// Kill gets the helper and all its children; the cgroup then deletes cleanly.
	if err := m.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(); err != nil {
		t.Fatal(err)
	}
}

// memory 16 MiB + a process touching 64 MiB: the kernel kills it and OOMKilled says so.
func testMemoryOOM(t *testing.T, b backend) {
	m := newTestCgroup(t, b, Resources{MemoryLimit: 16 << 20})
	if oom, err := m.OOMKilled(); err != nil || oom {
		t.Fatalf("fresh cgroup: OOMKilled = %v, %v; want false, nil", oom, err)
	}
	c := startHelper(t, "alloc", "SKIFF_HELPER_MB=64")
	if err := m.AddProc(c.pid()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c.release(t)
	err := c.wait(t, 30*time.Second)
	t.Logf("helper ended after %v: %v", time.Since(start), err)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("helper exit = %v, want killed by SIGKILL", err)
	}
	oom, err := m.OOMKilled()
	if err != nil || !oom {
		t.Fatalf("OOMKilled = %v, %v; want true", oom, err)
	}
}

// A process that stays under the limit is not OOM-killed.
func testMemoryUnderLimit(t *testing.T, b backend) {
	m := newTestCgroup(t, b, Resources{MemoryLimit: 64 << 20})
	c := startHelper(t, "alloc", "SKIFF_HELPER_MB=8")
	if err := m.AddProc(c.pid()); err != nil {
		t.Fatal(err)
	}
	c.release(t)
	line, _ := c.stdout.ReadString('\n')
	if err := c.wait(t, 30*time.Second); err != nil {
		t.Fatalf("helper: %v (said %q)", err, line)
	}
	if !strings.HasPrefix(line, "survived") {
		t.Fatalf("helper said %q", line)
	}
	if oom, err := m.OOMKilled(); err != nil || oom {
		t.Fatalf("OOMKilled = %v, %v; want false", oom, err)
	}
}

// CPU quota 20ms per 100ms: the files say so and a spinning process is throttled to it.
func testCPUQuota(t *testing.T, b backend) {
	m := newTestCgroup(t, b, Resources{CPUQuota: 20000, CPUPeriod: 100000})
	if b.name == "v1" {
		for file, want := range map[string]string{"cpu.cfs_quota_us": "20000", "cpu.cfs_period_us": "100000"} {
			if got, err := readFile(b.file("cpu", m.Path(), file)); err != nil || got != want {
				t.Fatalf("%s = %q, %v; want %q", file, got, err, want)
			}
		}
	} else {
		if got, err := readFile(b.file("cpu", m.Path(), "cpu.max")); err != nil || got != "20000 100000" {
			t.Fatalf("cpu.max = %q, %v; want \"20000 100000\"", got, err)
		}
	}
	c := startHelper(t, "spin")
	if err := m.AddProc(c.pid()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c.release(t)
	// Wait until the kernel has throttled it a few times (robust on a loaded machine).
	stat := b.file("cpu", m.Path(), "cpu.stat")
	var throttled uint64
	for deadline := start.Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		n, _, err := readKV(stat, "nr_throttled")
		if err != nil {
			t.Fatal(err)
		}
		if throttled = n; throttled >= 3 {
			break
		}
	}
	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	used := time.Duration(st.CPUUsageNS)
	t.Logf("spinning for %v used %v of CPU under a 20%% quota, throttled %d times", elapsed, used, throttled)
	if throttled < 3 {
		t.Fatalf("cpu.stat nr_throttled = %d after %v, want >= 3", throttled, elapsed)
	}
	// At most 20ms per started 100ms period, plus a little accounting slack.
	if limit := elapsed/5 + 40*time.Millisecond; used > limit {
		t.Fatalf("used %v of CPU in %v under a 20%% quota (limit %v)", used, elapsed, limit)
	}
}

// Update changes limits in place and zero fields reset them.
func testUpdate(t *testing.T, b backend) {
	m := newTestCgroup(t, b, Resources{})
	pidsMax := b.file("pids", m.Path(), "pids.max")
	if got, _ := readFile(pidsMax); got != "max" {
		t.Fatalf("pids.max = %q, want max", got)
	}
	if err := m.Update(Resources{PidsLimit: 32, MemoryLimit: 32 << 20}); err != nil {
		t.Fatal(err)
	}
	if got, _ := readFile(pidsMax); got != "32" {
		t.Fatalf("after Update pids.max = %q, want 32", got)
	}
	// Raising memory above the current memsw needs memsw written first: apply reorders.
	if err := m.Update(Resources{MemoryLimit: 64 << 20}); err != nil {
		t.Fatalf("raise memory: %v", err)
	}
	if b.name == "v1" {
		checkFile(t, b.file("memory", m.Path(), "memory.limit_in_bytes"), "67108864")
		checkFile(t, b.file("memory", m.Path(), "memory.memsw.limit_in_bytes"), "67108864")
	}
	if err := m.Update(Resources{MemoryLimit: 8 << 20, MemorySwap: 16 << 20}); err != nil {
		t.Fatalf("lower memory: %v", err)
	}
	if b.name == "v1" {
		checkFile(t, b.file("memory", m.Path(), "memory.limit_in_bytes"), "8388608")
		checkFile(t, b.file("memory", m.Path(), "memory.memsw.limit_in_bytes"), "16777216")
	}
	if err := m.Update(Resources{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := readFile(pidsMax); got != "max" {
		t.Fatalf("after reset pids.max = %q, want max", got)
	}
	if err := m.Update(Resources{CPUQuota: 5}); !errors.Is(err, ErrInvalidResources) {
		t.Fatalf("Update with CPUQuota 5: %v, want ErrInvalidResources", err)
	}
}

// A New that fails after making directories removes them, parents included.
func TestNewCleansUp(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			parent := testPath(t)
			path := parent + "/child"
			r := Resources{PidsLimit: 1 << 40} // the kernel refuses pids.max >= PID_MAX_LIMIT
			wantErr := error(nil)
			if !b.limits {
				// No pids controller in this hierarchy: the limit cannot be enabled.
				r, wantErr = Resources{PidsLimit: 8}, ErrNotSupported
			}
			m, err := b.new(path, r)
			if err == nil {
				_ = m.Delete()
				_ = os.Remove(b.dirs(parent)[0])
				t.Fatalf("New(%s, %+v) succeeded", path, r)
			}
			t.Logf("error: %v", err)
			if wantErr != nil && !errors.Is(err, wantErr) {
				t.Fatalf("err = %v, want %v", err, wantErr)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "pids") {
				t.Fatalf("error %q does not name the path and the controller", err)
			}
			for _, d := range append(b.dirs(path), b.dirs(parent)...) {
				if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("failed New left %s behind", d)
					_ = os.Remove(d)
				}
			}
		})
	}
}

func checkFile(t testing.TB, file, want string) {
	t.Helper()
	if got, err := readFile(file); err != nil || got != want {
		t.Fatalf("%s = %q, %v; want %q", file, got, err, want)
	}
}

// BenchmarkNewDelete measures what a container start and removal pay for the cgroup.
func BenchmarkNewDelete(b *testing.B) {
	requireRoot(b)
	path := testPath(b)
	r := Resources{MemoryLimit: 64 << 20, PidsLimit: 64, CPUQuota: 50000}
	for b.Loop() {
		m, err := New(path, r)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Delete(); err != nil {
			b.Fatal(err)
		}
	}
}
