package skiff_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffrt/skiff"
)

// TestUpdateLive: Update changes a running container's limits in its cgroup at once,
// keeps the ones not given, records them for a restart, and refuses a bad value without
// changing anything.
func TestUpdateLive(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	c := startBackground(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Detach: true,
		Cmd: []string{"sleep", "300"}, Resources: skiff.Resources{MemoryLimit: 64 << 20, PidsLimit: 50}})
	read := func(ctrl, file string) string {
		b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", ctrl, c.State().Cgroup, file))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	if err := c.Update(ctx, skiff.UpdateConfig{Resources: skiff.Resources{PidsLimit: 20, CPUQuota: 25000}}); err != nil {
		t.Fatal(err)
	}
	if got := read("pids", "pids.max"); got != "20" {
		t.Errorf("pids.max = %s, want 20", got)
	}
	if got := read("cpu", "cpu.cfs_quota_us"); got != "25000" {
		t.Errorf("cpu.cfs_quota_us = %s, want 25000", got)
	}
	if got := read("memory", "memory.limit_in_bytes"); got != "67108864" {
		t.Errorf("memory limit changed to %s by an update that did not name it", got)
	}
	r := c.State().Resources
	if r.PidsLimit != 20 || r.CPUQuota != 25000 || r.MemoryLimit != 64<<20 {
		t.Errorf("recorded resources %+v", r)
	}
	again, err := e.Container(ctx, c.ID())
	if err != nil || again.State().Resources != r {
		t.Errorf("another handle sees %+v, %v", again.State().Resources, err)
	}
	err = c.Update(ctx, skiff.UpdateConfig{Resources: skiff.Resources{CPUQuota: 10}}) // below the kernel's 1 ms minimum
	if !errors.Is(err, skiff.ErrInvalidConfig) {
		t.Fatalf("update with a 10 µs quota = %v, want ErrInvalidConfig", err)
	}
	if got := read("cpu", "cpu.cfs_quota_us"); got != "25000" || c.State().Resources != r {
		t.Errorf("a refused update changed the limits: quota %s, %+v", got, c.State().Resources)
	}
	policy := skiff.RestartPolicy{Name: skiff.RestartOnFailure, MaximumRetryCount: 2}
	if err := c.Update(ctx, skiff.UpdateConfig{RestartPolicy: &policy}); err != nil {
		t.Fatal(err)
	}
	if got := c.Config().RestartPolicy; got != policy {
		t.Errorf("restart policy after update = %+v", got)
	}
}
