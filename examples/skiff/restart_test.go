package main

import (
	"strings"
	"testing"
	"time"
)

// TestCLIRestartPolicy: run -d --restart on-failure:1 runs a failing container once
// more, and inspect shows the count; --restart with --rm, or a bad policy, is refused.
func TestCLIRestartPolicy(t *testing.T) {
	c := newCLI(t)
	withBusybox(t, c)
	c.ok("run", "-d", "--name", "flaky", "--network", "none", "--restart", "on-failure:1", "busybox", "sh", "-c", "echo try; exit 2")
	deadline := time.Now().Add(20 * time.Second)
	for {
		out := c.ok("inspect", "-f", "{{.State.Status}} {{.RestartCount}} {{.State.Restarting}} {{.State.ExitCode}} {{.HostConfig.RestartPolicy.Name}}", "flaky")
		if out == "exited 1 false 2 on-failure\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("inspect after on-failure:1 = %q", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if out := c.ok("logs", "flaky"); out != "try\ntry\n" {
		t.Errorf("logs of two runs = %q", out)
	}
	c.ok("rm", "flaky")
	c.expect(125, "", "", "AutoRemove", "run", "-d", "--rm", "--restart", "always", "--network", "none", "busybox", "true")
	c.expect(125, "", "", "invalid restart policy", "run", "-d", "--restart", "sometimes", "--network", "none", "busybox", "true")
	if out := c.ok("ps", "-aq"); strings.TrimSpace(out) != "" {
		t.Errorf("containers left: %q", out)
	}
}
