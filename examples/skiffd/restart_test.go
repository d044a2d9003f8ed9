package main

import (
	"strings"
	"testing"
	"time"
)

// TestRestartDaemon stops skiffd while a container runs and starts it again: the
// container keeps running (its monitor, not skiffd, is its parent) and stays
// controllable, and a --rm container that exited meanwhile is removed.
func TestRestartDaemon(t *testing.T) {
	e := newEnv(t)
	img := e.busybox()
	e.ok("run", "-d", "--name", "survivor", img, "sh", "-c", "echo started; while true; do sleep 0.1; done")
	e.ok("run", "-d", "--rm", "--name", "shortlived", img, "sleep", "1")
	waitFor(t, "log", func() bool { out, _, _ := e.run("logs", "survivor"); return out == "started\n" })

	e.stop()
	time.Sleep(1500 * time.Millisecond) // shortlived exits while no skiffd runs
	e.start()

	if out := e.ok("inspect", "-f", "{{.State.Status}}", "survivor"); out != "running\n" {
		t.Fatalf("after restarting skiffd: survivor is %q", out)
	}
	if out := e.ok("exec", "survivor", "echo", "still here"); out != "still here\n" {
		t.Errorf("exec after restart = %q", out)
	}
	waitFor(t, "--rm container removed", func() bool {
		out := e.ok("ps", "-a", "--format", "{{.Names}}")
		return !strings.Contains(out, "shortlived")
	})
	e.ok("stop", "-t", "1", "survivor")
	if out := e.ok("inspect", "-f", "{{.State.Status}}", "survivor"); out != "exited\n" {
		t.Errorf("after stop: %q", out)
	}
	e.ok("rm", "survivor")
}
