package skiff_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/skiffrt/skiff"
)

// TestStartOfContainerThatEndedFirst: a created container whose process ends before
// Start releases it (killed here; its reaper may or may not have recorded the exit
// yet, and may have reaped it already) is started as one that ran and exited at once:
// Start succeeds and Wait reports the exit, never "pidfd_open: no such process" or
// "exited before start". Foreground (the test reaps) and detached (its monitor reaps),
// many times, so every order of kill, reap, record and Start comes up.
func TestStartOfContainerThatEndedFirst(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	for i := range 30 {
		detach := i%2 == 1
		c, err := e.Create(ctx, skiff.ContainerConfig{Image: img, Detach: detach, Network: skiff.NetworkNone, Cmd: []string{"true"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Delete(ctx, skiff.WithForce()) })
		pid := c.State().Pid
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if detach && i%4 == 1 { // reaped by its monitor, which may not have recorded it yet
			deadline := time.Now().Add(10 * time.Second)
			for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
		}
		if err := c.Start(ctx); err != nil {
			t.Fatalf("run %d (detached %v): start of a container whose process ended: %v", i, detach, err)
		}
		st, err := c.Wait(ctx)
		if err != nil {
			t.Fatalf("run %d: wait: %v", i, err)
		}
		if st.Code != 137 && st.Code != 0 { // killed, or run again once its exit was recorded
			t.Errorf("run %d (detached %v): exit %d, want 137 (or 0)", i, detach, st.Code)
		}
		if s := c.State(); s.Status != skiff.StatusExited {
			t.Errorf("run %d: state %s after wait", i, s.Status)
		}
	}
}

// TestStartAgainResetsHealth: a stopped container's health says unhealthy (its run
// ended); started again, it says starting from the moment Start returns, before any
// probe of the new run, as Docker's does (docker compose start waits on that).
func TestStartAgainResetsHealth(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	c := startBackground(t, e, skiff.ContainerConfig{Image: img, Detach: true, Network: skiff.NetworkNone,
		Cmd:         []string{"sleep", "600"},
		Healthcheck: &skiff.Healthcheck{Test: []string{"CMD", "true"}, Interval: time.Hour, StartInterval: time.Hour}})
	if err := c.Stop(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if h := c.State().Health; h == nil || h.Status != skiff.HealthUnhealthy {
		t.Fatalf("health after stop: %+v, want unhealthy", h)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if h := c.State().Health; h == nil || h.Status != skiff.HealthStarting {
		t.Errorf("health as Start returns: %+v, want starting", h)
	}
}
