package main

import (
	"strings"
	"testing"
)

// TestCLIHealthcheck: run -d --health-cmd makes ps show "(healthy)" once a probe
// passes and inspect show the health; --no-healthcheck with --health-* is refused.
func TestCLIHealthcheck(t *testing.T) {
	c := newCLI(t)
	withBusybox(t, c)
	c.ok("run", "-d", "--name", "probed", "--network", "none", "--health-cmd", "test -f /tmp/up",
		"--health-interval", "100ms", "--health-retries", "1", "busybox", "sh", "-c", "sleep 0.5; touch /tmp/up; sleep 60")
	var seen []string
	waitFor(t, func() bool {
		out := c.ok("ps", "--filter", "name=probed")
		if len(seen) == 0 || seen[len(seen)-1] != out {
			seen = append(seen, out)
		}
		return strings.Contains(out, "(healthy)")
	})
	if !strings.Contains(strings.Join(seen, ""), "(unhealthy)") && !strings.Contains(strings.Join(seen, ""), "(health: starting)") {
		t.Errorf("ps before the file exists never showed starting or unhealthy: %q", seen)
	}
	if out := c.ok("ps", "-q", "--filter", "health=healthy"); strings.TrimSpace(out) == "" {
		t.Errorf("ps --filter health=healthy lists nothing")
	}
	if out := c.ok("ps", "-q", "--filter", "health=none"); strings.TrimSpace(out) != "" {
		t.Errorf("ps --filter health=none = %q", out)
	}
	out := c.ok("inspect", "-f", "{{.State.Health.Status}} {{.State.Health.FailingStreak}} {{index .Config.Healthcheck.Test 0}}", "probed")
	if out != "healthy 0 CMD-SHELL\n" {
		t.Errorf("inspect = %q", out)
	}
	c.ok("rm", "-f", "probed")
	c.expect(125, "", "", "--no-healthcheck conflicts with --health-* options",
		"run", "-d", "--no-healthcheck", "--health-retries", "2", "--network", "none", "busybox", "true")
}
