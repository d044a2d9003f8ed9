package dockeropts

import (
	"testing"
	"time"

	"github.com/skiffrt/skiff"
)

func TestStatusText(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		st   skiff.State
		want string
	}{
		{skiff.State{Status: skiff.StatusCreated}, "Created"},
		{skiff.State{Status: skiff.StatusRunning, Started: now.Add(-3 * time.Second)}, "Up 3 seconds"},
		{skiff.State{Status: skiff.StatusRunning, Started: now.Add(-2 * time.Minute),
			Health: &skiff.Health{Status: skiff.HealthStarting}}, "Up 2 minutes (health: starting)"},
		{skiff.State{Status: skiff.StatusPaused, Started: now.Add(-time.Hour)}, "Up About an hour (Paused)"},
		{skiff.State{Status: skiff.StatusExited, ExitCode: 3, Finished: now.Add(-5 * time.Second)}, "Exited (3) 5 seconds ago"},
		{skiff.State{Status: skiff.StatusExited, ExitCode: 1, Restarting: true, Finished: now.Add(-time.Second)}, "Restarting (1) 1 second ago"},
		{skiff.State{Status: skiff.StatusExited, ExitCode: 255}, "Exited (255)"},
	} {
		if got := StatusText(c.st, now); got != c.want {
			t.Errorf("StatusText(%+v) = %q, want %q", c.st, got, c.want)
		}
	}
}
