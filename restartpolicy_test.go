package skiff_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/skiffrt/skiff"
)

// awaitState polls c's state until cond holds (the restarts happen in other
// processes, on their own schedule), for at most 20 s.
func awaitState(t *testing.T, c *skiff.Container, what string, cond func(skiff.State) bool) skiff.State {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := c.State()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %+v", what, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRestartPolicyValidation(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	for _, cfg := range []skiff.ContainerConfig{
		{RestartPolicy: skiff.RestartPolicy{Name: "sometimes"}, Detach: true},
		{RestartPolicy: skiff.RestartPolicy{Name: skiff.RestartAlways, MaximumRetryCount: 2}, Detach: true},
		{RestartPolicy: skiff.RestartPolicy{Name: skiff.RestartOnFailure, MaximumRetryCount: -1}, Detach: true},
		{RestartPolicy: skiff.RestartPolicy{Name: skiff.RestartAlways}, Detach: true, AutoRemove: true},
		{RestartPolicy: skiff.RestartPolicy{Name: skiff.RestartAlways}},
	} {
		cfg.Image, cfg.Network = img, skiff.NetworkNone
		if c, err := e.Create(ctx, cfg); !errors.Is(err, skiff.ErrInvalidConfig) || !strings.Contains(err.Error(), "RestartPolicy") {
			t.Errorf("Create with %+v (detach %v, rm %v): %v, want ErrInvalidConfig naming RestartPolicy", cfg.RestartPolicy, cfg.Detach, cfg.AutoRemove, err)
			if err == nil {
				c.Delete(ctx, skiff.WithForce())
			}
		}
	}
}

// TestRestartPolicyOnFailure: on-failure:2 runs a failing container three times, the
// restarts 100 and 200 ms apart, and counts them; a zero exit is not restarted.
func TestRestartPolicyOnFailure(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	begin := time.Now()
	c := startBackground(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Detach: true,
		RestartPolicy: skiff.RestartPolicy{Name: skiff.RestartOnFailure, MaximumRetryCount: 2},
		Cmd:           []string{"sh", "-c", "echo run; exit 3"}})
	st := awaitState(t, c, "two restarts and the last exit", func(st skiff.State) bool {
		return st.RestartCount == 2 && st.Status == skiff.StatusExited && !st.Restarting
	})
	if took := time.Since(begin); st.ExitCode != 3 || took < 300*time.Millisecond {
		t.Errorf("after on-failure:2: exit %d after %v, want 3 after the 100+200 ms delays", st.ExitCode, took)
	}
	var out strings.Builder
	if err := c.Logs(ctx, skiff.LogOptions{Tail: -1}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "run\nrun\nrun\n" {
		t.Errorf("log of three runs = %q", out.String())
	}
	if got := c.Config().RestartPolicy; got.Name != skiff.RestartOnFailure || got.MaximumRetryCount != 2 {
		t.Errorf("recorded policy = %+v", got)
	}

	ok := startBackground(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Detach: true,
		RestartPolicy: skiff.RestartPolicy{Name: skiff.RestartOnFailure}, Cmd: []string{"true"}})
	if st, err := ok.Wait(ctx); err != nil || st.Code != 0 {
		t.Fatalf("wait: %+v %v", st, err)
	}
	if st := ok.State(); st.RestartCount != 0 || st.Restarting {
		t.Errorf("on-failure after exit 0: restart count %d, restarting %v", st.RestartCount, st.Restarting)
	}
}

// TestRestartPolicyAlwaysAndStop: always runs an exiting container again until Stop,
// which also calls off a pending restart; Start starts the policy (and its count)
// anew.
func TestRestartPolicyAlwaysAndStop(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	c := startBackground(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Detach: true,
		RestartPolicy: skiff.RestartPolicy{Name: skiff.RestartAlways}, Cmd: []string{"true"}})
	awaitState(t, c, "two restarts", func(st skiff.State) bool { return st.RestartCount >= 2 })
	if err := c.Stop(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
	st := awaitState(t, c, "the restarts to end", func(st skiff.State) bool {
		return st.Status == skiff.StatusExited && !st.Restarting
	})
	if !st.ManuallyStopped {
		t.Errorf("after Stop: %+v, want ManuallyStopped", st)
	}
	// Nothing is pending: the count stays.
	if again := c.State(); again.RestartCount != st.RestartCount || again.Status != skiff.StatusExited {
		t.Errorf("after the restarts ended: %+v", again)
	}

	// A long-running one: Stop ends it for good, Start brings the policy back.
	long := startBackground(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Detach: true,
		RestartPolicy: skiff.RestartPolicy{Name: skiff.RestartUnlessStopped}, Cmd: []string{"sleep", "60"}})
	if err := long.Kill(ctx, 9); err != nil {
		t.Fatal(err)
	}
	if st, err := long.Wait(ctx); err != nil || st.Code != 137 {
		t.Fatalf("wait after kill: %+v %v", st, err)
	}
	if st := long.State(); st.Restarting || !st.ManuallyStopped {
		t.Errorf("after Kill: %+v, want no restart", st)
	}
	if err := long.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if st := long.State(); st.ManuallyStopped || st.RestartCount != 0 || st.Status != skiff.StatusRunning {
		t.Errorf("after Start: %+v", st)
	}
}
