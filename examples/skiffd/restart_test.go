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

// TestRestartDaemonInteractive: a container with a terminal and an open stdin
// (docker run -dit) runs under its monitor too, so it survives a restart of skiffd,
// and docker attach and exec reach it afterwards; detaching (^P^Q) leaves it running,
// and its shell's exit ends the attach.
func TestRestartDaemonInteractive(t *testing.T) {
	e := newEnv(t)
	img := e.busybox()
	e.ok("run", "-dit", "--name", "shell", img, "sh")

	e.stop()
	e.start()

	if out := e.ok("inspect", "-f", "{{.State.Status}}", "shell"); out != "running\n" {
		t.Fatalf("after restarting skiffd: shell is %q", out)
	}
	if out := e.ok("exec", "shell", "echo", "exec works"); out != "exec works\n" {
		t.Errorf("exec after restart = %q", out)
	}
	out, code := e.ptyRun(t, []ptyStep{
		{input: "tty; stty size; echo first-$((20+1))\n"},
		{waitFor: "first-21", input: "\x10\x11"},
	}, "attach", "shell")
	// (The CLI detaches itself; depending on its version it exits 0 or 1, "read escape
	// sequence".)
	// The CLI resizes to one row and column more and then to the size (to make the
	// program redraw); stty may run between the two.
	if !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, "30 100") && !strings.Contains(out, "31 101") {
		t.Errorf("docker attach, then ^P^Q: exit %d, output %q", code, out)
	}
	if out := e.ok("inspect", "-f", "{{.State.Status}}", "shell"); out != "running\n" {
		t.Fatalf("after detaching: shell is %q", out)
	}
	out, code = e.ptyRun(t, []ptyStep{
		{input: "echo second-$((20+2))\n"},
		{waitFor: "second-22", input: "exit 6\n"},
	}, "attach", "shell")
	if code != 6 || !strings.Contains(out, "second-22") {
		t.Errorf("docker attach, then exit 6: exit %d, output %q", code, out)
	}
	if out := e.ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "shell"); out != "exited 6\n" {
		t.Errorf("after exit 6: %q", out)
	}
	e.ok("rm", "shell")
}
