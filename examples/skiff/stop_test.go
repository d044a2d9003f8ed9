package main

import (
	"strings"
	"testing"
	"time"
)

// TestCLIStopTimeoutAndSignal: stop without -t waits the container's --stop-timeout
// (not Docker's default 10 s) before killing a process deaf to SIGTERM, and sends its
// --stop-signal first.
func TestCLIStopTimeoutAndSignal(t *testing.T) {
	c := newCLI(t)
	withBusybox(t, c)
	c.ok("run", "-d", "--name", "deaf", "--network", "none", "--stop-timeout", "1", "busybox", "sh", "-c", "echo ready; exec sleep 600")
	awaitReady(t, c, "deaf") // stopped once its command runs, not the init before its execve
	began := time.Now()
	c.ok("stop", "deaf")
	if took := time.Since(began); took < time.Second || took >= 9*time.Second {
		t.Errorf("stop of a container with --stop-timeout 1 took %s", took)
	}
	if out := c.ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "deaf"); out != "exited 137\n" {
		t.Errorf("after stop: %q, want killed", out)
	}

	c.ok("run", "-d", "--name", "polite", "--network", "none", "--stop-signal", "USR1", "busybox",
		"sh", "-c", "trap 'exit 3' USR1; echo ready; while :; do sleep 0.05; done")
	awaitReady(t, c, "polite")
	c.ok("stop", "polite")
	if out := c.ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "polite"); out != "exited 3\n" {
		t.Errorf("after stop with --stop-signal USR1: %q, want the trap's exit 3", out)
	}
	c.ok("rm", "deaf", "polite")
}

// awaitReady waits (up to 30 s) until container name has logged "ready".
func awaitReady(t *testing.T, c *cli, name string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(c.ok("logs", name), "ready") {
		if time.Now().After(deadline) {
			t.Fatalf("container %s never logged ready", name)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
