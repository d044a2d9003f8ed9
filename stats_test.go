package skiff_test

import (
	"context"
	"testing"

	"github.com/skiffrt/skiff"
)

// TestStats: a running container's sample carries its cgroup's usage and limits and
// its eth0 counters; a stopped one's only the time and the host's CPU.
func TestStats(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	c := startBackground(t, e, skiff.ContainerConfig{Image: img, Cmd: []string{"sleep", "60"},
		Resources: skiff.Resources{MemoryLimit: 64 << 20, PidsLimit: 32}})
	sh(t, c, "ping -c 1 -W 2 $(ip route | awk '/default/ {print $3}') >/dev/null")
	s, err := c.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", *s)
	if s.CPUUsageNS == 0 || s.SystemCPUNS == 0 || s.OnlineCPUs < 1 || s.Read.IsZero() {
		t.Errorf("cpu: %+v", *s)
	}
	if s.MemoryUsage == 0 || s.MemoryLimit != 64<<20 || s.PidsCurrent != 1 || s.PidsLimit != 32 {
		t.Errorf("memory %d/%d, pids %d/%d", s.MemoryUsage, s.MemoryLimit, s.PidsCurrent, s.PidsLimit)
	}
	eth0, ok := s.Networks["eth0"]
	if !ok || len(s.Networks) != 1 || eth0.TxPackets == 0 || eth0.RxBytes == 0 {
		t.Errorf("networks %+v, want eth0 with the ping and its answer", s.Networks)
	}
	if err := c.Kill(ctx, 9); err != nil {
		t.Fatal(err)
	}
	c.Wait(ctx)
	s, err = c.Stats(ctx)
	if err != nil || s.CPUUsageNS != 0 || s.MemoryUsage != 0 || len(s.Networks) != 0 || s.SystemCPUNS == 0 {
		t.Errorf("stats of a stopped container: %+v %v", s, err)
	}
}
