package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestDockerHealthcheck: docker run --health-cmd makes the container healthy as the
// probe passes; inspect shows Config.Healthcheck and State.Health with its log, ps
// "(healthy)", and the health_status events are reported.
func TestDockerHealthcheck(t *testing.T) {
	e := newEnv(t)
	img := e.busybox()
	e.ok("run", "-d", "--name", "probed", "--health-cmd", "echo ok; test -f /tmp/up", "--health-interval", "200ms",
		"--health-retries", "2", img, "sh", "-c", "sleep 0.5; touch /tmp/up; sleep 60")
	waitFor(t, "healthy", func() bool {
		return e.ok("inspect", "-f", "{{.State.Health.Status}}", "probed") == "healthy\n"
	})
	var got []struct {
		Config struct {
			Healthcheck struct {
				Test     []string
				Interval int64
				Retries  int
			}
		}
		State struct {
			Health struct {
				Status        string
				FailingStreak int
				Log           []struct {
					Start, End string
					ExitCode   int
					Output     string
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(e.ok("inspect", "probed")), &got); err != nil || len(got) != 1 {
		t.Fatalf("inspect: %v", err)
	}
	hc, h := got[0].Config.Healthcheck, got[0].State.Health
	if strings.Join(hc.Test, "|") != "CMD-SHELL|echo ok; test -f /tmp/up" || hc.Interval != 200e6 || hc.Retries != 2 {
		t.Errorf("Config.Healthcheck = %+v", hc)
	}
	if n := len(h.Log); n == 0 || h.Log[n-1].ExitCode != 0 || h.Log[n-1].Output != "ok\n" || h.Log[n-1].Start == "" || h.FailingStreak != 0 {
		t.Errorf("State.Health = %+v", h)
	}
	if out := e.ok("ps", "--filter", "name=probed", "--format", "{{.Status}}"); !strings.HasSuffix(out, "(healthy)\n") {
		t.Errorf("ps status = %q", out)
	}
	if out := e.ok("ps", "--filter", "health=healthy", "--format", "{{.Names}}"); out != "probed\n" {
		t.Errorf("ps --filter health=healthy = %q", out)
	}
	if out := e.ok("ps", "--filter", "health=unhealthy", "--format", "{{.Names}}"); out != "" {
		t.Errorf("ps --filter health=unhealthy = %q", out)
	}
	// The event follows the state's change.
	waitFor(t, "health_status event", func() bool {
		out := e.ok("events", "--since", "1h", "--until", "0s", "--filter", "event=health_status", "--format", "{{.Action}}")
		return strings.Contains(out, "health_status: healthy")
	})
	e.ok("rm", "-f", "probed")
}
