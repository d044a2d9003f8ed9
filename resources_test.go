package skiff_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/skiffrt/skiff"
)

func TestMemoryLimitOOMKilled(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	// dd allocates its 64 MiB block buffer and fills it: over a 32 MiB limit.
	_, _, st := run(t, e, skiff.ContainerConfig{
		Image:     img,
		Cmd:       []string{"dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"},
		Resources: skiff.Resources{MemoryLimit: 32 << 20},
	})
	if !st.OOMKilled || st.Code != 137 {
		t.Errorf("64 MiB under a 32 MiB limit: %+v, want OOMKilled and exit 137", st)
	}
	_, _, st = run(t, e, skiff.ContainerConfig{
		Image:     img,
		Cmd:       []string{"dd", "if=/dev/zero", "of=/dev/null", "bs=4M", "count=1"},
		Resources: skiff.Resources{MemoryLimit: 32 << 20},
	})
	if st.OOMKilled || st.Code != 0 {
		t.Errorf("4 MiB under a 32 MiB limit: %+v, want a clean exit", st)
	}
}

func TestPidsLimitBoundsForkLoop(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	// An endless fork loop under a limit of 16 tasks: a fork fails, the shell (PID 1)
	// gives up, and the kernel kills the rest of the PID namespace with it.
	out, stderr, st := run(t, e, skiff.ContainerConfig{
		Image:     img,
		Cmd:       []string{"sh", "-c", "i=0; while true; do sleep 30 & i=$((i+1)); echo $i; done"},
		Resources: skiff.Resources{PidsLimit: 16},
	})
	if !strings.Contains(stderr, "can't fork") || st.Code == 0 {
		t.Errorf("fork loop under a pids limit of 16: exit %d, stderr %q; want a failed fork", st.Code, stderr)
	}
	lines := strings.Fields(out)
	if len(lines) == 0 || len(lines) >= 16 {
		t.Errorf("the loop started %d sleeps under a pids limit of 16", len(lines))
	}
}

func TestCPUQuotaInCgroup(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	c, err := e.Create(ctx, skiff.ContainerConfig{
		Image:     img,
		Cmd:       []string{"true"},
		Resources: skiff.Resources{CPUQuota: 50000, CPUPeriod: 100000},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Delete(ctx, skiff.WithForce())
	b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/cpu", c.State().Cgroup, "cpu.cfs_quota_us"))
	if err != nil || strings.TrimSpace(string(b)) != "50000" {
		t.Errorf("cpu.cfs_quota_us = %q (%v), want 50000", b, err)
	}
	// The init waits in its cgroup before exec: it is already a member.
	procs, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/pids", c.State().Cgroup, "cgroup.procs"))
	if err != nil || !strings.Contains(string(procs), strings.TrimSpace(strconv.Itoa(c.State().Pid))) {
		t.Errorf("container init %d not in its cgroup before start: %q %v", c.State().Pid, procs, err)
	}
}
