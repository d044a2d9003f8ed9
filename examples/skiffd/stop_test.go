package main

import (
	"strings"
	"testing"
	"time"
)

// TestStopTimeoutAndSignal: docker stop without -t waits the container's
// --stop-timeout (not the default 10 s) before it kills a process deaf to SIGTERM,
// and sends its --stop-signal first; inspect echoes both.
func TestStopTimeoutAndSignal(t *testing.T) {
	e := newEnv(t)
	img := e.busybox()
	t.Cleanup(func() { e.run("rm", "-f", "deaf", "polite") })
	e.ok("run", "-d", "--name", "deaf", "--network", "none", "--stop-timeout", "1", img, "sh", "-c", "echo ready; exec sleep 600")
	awaitReady(t, e, "deaf") // stopped once its command runs, not the init before its execve
	began := time.Now()
	e.ok("stop", "deaf")
	if took := time.Since(began); took < time.Second || took >= 9*time.Second {
		t.Errorf("docker stop of a container with --stop-timeout 1 took %s", took)
	}
	if out := e.ok("inspect", "-f", "{{.State.ExitCode}} {{.Config.StopTimeout}}", "deaf"); out != "137 1\n" {
		t.Errorf("inspect after stop: %q, want killed (137) and StopTimeout 1", out)
	}

	e.ok("run", "-d", "--name", "polite", "--network", "none", "--stop-signal", "USR1", img,
		"sh", "-c", "trap 'exit 3' USR1; echo ready; while :; do sleep 0.05; done")
	awaitReady(t, e, "polite")
	e.ok("stop", "polite")
	if out := e.ok("inspect", "-f", "{{.State.ExitCode}} {{.Config.StopSignal}}", "polite"); out != "3 USR1\n" {
		t.Errorf("inspect after stop with --stop-signal USR1: %q, want the trap's exit 3", out)
	}
}

// awaitReady waits (up to 30 s) until container name has logged "ready".
func awaitReady(t *testing.T, e *env, name string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(e.ok("logs", name), "ready") {
		if time.Now().After(deadline) {
			t.Fatalf("container %s never logged ready", name)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
