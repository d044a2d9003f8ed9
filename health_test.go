package skiff_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/skiffrt/skiff"
)

// healthEvents collects the health_status events of the engine's root from now on.
func healthEvents(t *testing.T, e *skiff.Engine) func() []string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var got []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.Events(ctx, skiff.EventsOptions{Since: time.Now(), Filter: skiff.EventFilter{Actions: []string{"health_status"}}},
			func(ev skiff.Event) error {
				mu.Lock()
				got = append(got, ev.Action)
				mu.Unlock()
				return nil
			})
	}()
	t.Cleanup(func() { cancel(); <-done })
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

// TestHealthcheck: a probe that fails twice makes the container unhealthy (Retries
// 2), one that succeeds makes it healthy again, each change an event; the log keeps
// the last five results with their output; the exit leaves it unhealthy.
func TestHealthcheck(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	events := healthEvents(t, e)
	ctx := context.Background()
	c := startBackground(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Detach: true,
		Cmd: []string{"sleep", "60"},
		Healthcheck: &skiff.Healthcheck{Test: []string{"CMD-SHELL", "echo probe; test -f /tmp/ok"},
			Interval: 100 * time.Millisecond, Timeout: 2 * time.Second, Retries: 2}})
	if h := c.State().Health; h == nil || h.Status != skiff.HealthStarting && h.Status != skiff.HealthUnhealthy {
		t.Fatalf("health right after start = %+v, want starting", h)
	}
	st := awaitState(t, c, "unhealthy", func(st skiff.State) bool {
		return st.Health != nil && st.Health.Status == skiff.HealthUnhealthy
	})
	if h := st.Health; h.FailingStreak != 2 || len(h.Log) != 2 || h.Log[1].ExitCode != 1 || h.Log[1].Output != "probe\n" ||
		h.Log[1].End.Before(h.Log[1].Start) {
		t.Errorf("health after two failures = %+v", h)
	}
	p, err := c.Exec(ctx, skiff.ExecConfig{Cmd: []string{"touch", "/tmp/ok"}})
	if err != nil {
		t.Fatal(err)
	}
	p.Wait()
	st = awaitState(t, c, "healthy", func(st skiff.State) bool {
		return st.Health.Status == skiff.HealthHealthy
	})
	if h := st.Health; h.FailingStreak != 0 || h.Log[len(h.Log)-1].ExitCode != 0 {
		t.Errorf("health after a success = %+v", h)
	}
	// Retries counts failures in a row: it stays healthy, and the log keeps the last
	// five results (the failures rotate out).
	st = awaitState(t, c, "five successes in the log", func(st skiff.State) bool {
		return len(st.Health.Log) == skiff.HealthLogSize && st.Health.Log[0].ExitCode == 0
	})
	if st.Health.Status != skiff.HealthHealthy {
		t.Errorf("health later = %+v", st.Health)
	}
	want := []string{"health_status: unhealthy", "health_status: healthy"}
	deadline := time.Now().Add(5 * time.Second)
	for !slices2Equal(events(), want) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := events(); !slices2Equal(got, want) {
		t.Errorf("health events = %q, want %q", got, want)
	}
	if err := c.Kill(ctx, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if h := c.State().Health; h == nil || h.Status != skiff.HealthUnhealthy {
		t.Errorf("health after the exit = %+v, want unhealthy", h)
	}
}

func slices2Equal(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

// TestHealthcheckTimeoutAndStartPeriod: a probe that outlives Timeout is killed and
// fails with exit code -1; during StartPeriod failures do not count.
func TestHealthcheckTimeoutAndStartPeriod(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	begin := time.Now()
	c := startBackground(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Detach: true,
		Cmd: []string{"sleep", "60"},
		Healthcheck: &skiff.Healthcheck{Test: []string{"CMD", "sleep", "10"}, Interval: 100 * time.Millisecond,
			Timeout: 200 * time.Millisecond, StartPeriod: 1500 * time.Millisecond, StartInterval: 50 * time.Millisecond, Retries: 1}})
	st := awaitState(t, c, "unhealthy", func(st skiff.State) bool {
		return st.Health != nil && st.Health.Status == skiff.HealthUnhealthy
	})
	if took := time.Since(begin); took < 1500*time.Millisecond {
		t.Errorf("unhealthy after %v, inside the start period", took)
	}
	last := st.Health.Log[len(st.Health.Log)-1]
	if last.ExitCode != -1 || !strings.Contains(last.Output, "exceeded timeout") || last.End.Sub(last.Start) > 5*time.Second {
		t.Errorf("timed out probe = %+v", last)
	}
	if len(st.Health.Log) < 2 || st.Health.FailingStreak != 1 {
		t.Errorf("health = %+v, want failures in the start period not counted", st.Health)
	}
}

// TestHealthcheckConfig: bad fields are refused; NONE means no probes and no Health.
func TestHealthcheckConfig(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	for _, h := range []skiff.Healthcheck{
		{Test: []string{"CMD"}},
		{Test: []string{"SHELL", "true"}},
		{Test: []string{"CMD", "true"}, Interval: time.Microsecond},
		{Test: []string{"CMD", "true"}, Retries: -1},
	} {
		c, err := e.Create(ctx, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Detach: true, Healthcheck: &h})
		if !errors.Is(err, skiff.ErrInvalidConfig) || !strings.Contains(err.Error(), "Healthcheck") {
			t.Errorf("Create with %+v: %v, want ErrInvalidConfig naming Healthcheck", h, err)
		}
		if err == nil {
			c.Delete(ctx, skiff.WithForce())
		}
	}
	c := startBackground(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Detach: true,
		Cmd: []string{"sleep", "60"}, Healthcheck: &skiff.Healthcheck{Test: []string{"NONE"}}})
	if st := c.State(); st.Health != nil || c.Config().Healthcheck.Enabled() {
		t.Errorf("with NONE: health %+v, config %+v", st.Health, c.Config().Healthcheck)
	}
}

// TestHealthcheckFromImage: a HEALTHCHECK of the image applies, its fields merged
// under the container's own (Retries from the container, the rest from the image),
// its CMD-SHELL run by the image's SHELL.
func TestHealthcheckFromImage(t *testing.T) {
	e := newEngine(t)
	busybox(t, e)
	// The SHELL reports the command it was given and fails: "true" run by /bin/sh -c
	// would pass.
	df := "FROM busybox\nSHELL [\"/bin/sh\", \"-c\", \"echo shell-$1; exit 1\", \"x\"]\n" +
		"HEALTHCHECK --interval=100ms --timeout=3s --retries=9 CMD true\n"
	if _, err := e.Build(context.Background(), skiff.BuildOptions{DockerfileContent: []byte(df), Tags: []string{"probed"}}); err != nil {
		t.Fatal(err)
	}
	c := startBackground(t, e, skiff.ContainerConfig{Image: "probed", Network: skiff.NetworkNone, Detach: true,
		Cmd: []string{"sleep", "60"}, Healthcheck: &skiff.Healthcheck{Retries: 2}})
	h := c.Config().Healthcheck
	if h == nil || strings.Join(h.Test, "|") != "CMD-SHELL|true" || h.Interval != 100*time.Millisecond ||
		h.Timeout != 3*time.Second || h.Retries != 2 {
		t.Fatalf("merged health check = %+v", h)
	}
	st := awaitState(t, c, "unhealthy", func(st skiff.State) bool {
		return st.Health != nil && st.Health.Status == skiff.HealthUnhealthy
	})
	if last := st.Health.Log[len(st.Health.Log)-1]; last.ExitCode != 1 || last.Output != "shell-true\n" || st.Health.FailingStreak != 2 {
		t.Errorf("health = %+v", st.Health)
	}
}
