package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// TestCLIAttach: run -dit leaves a shell running on a terminal under its monitor;
// skiff attach connects a real terminal to it (its size, a resize), ^P^Q detaches
// and leaves it running, and a second attach sees the shell's exit status.
func TestCLIAttach(t *testing.T) {
	c := newCLI(t)
	withBusybox(t, c)
	c.ok("run", "-dit", "--network", "none", "--name", "shell", "busybox", "sh")

	tm := c.startTerm(30, 100, "attach", "shell")
	time.Sleep(200 * time.Millisecond) // attached and sized
	io.WriteString(tm.ptmx, "stty size; tty; echo $((6*7))x\r")
	tm.expect(`30 100\r\n/dev/pts/\d+\r\n42x`)
	if err := pty.Setsize(tm.ptmx, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // SIGWINCH to skiff, then the resize message
	io.WriteString(tm.ptmx, "stty size\r")
	tm.expect(`40 120\r\n`)
	io.WriteString(tm.ptmx, "\x10\x11") // ^P^Q
	if code := tm.wait(); code != 0 {
		t.Errorf("attach, ^P^Q: exit %d, want 0", code)
	}
	if out := c.ok("inspect", "-f", "{{.State.Status}}", "shell"); out != "running\n" {
		t.Fatalf("after detaching: %q", out)
	}

	tm = c.startTerm(25, 80, "attach", "shell")
	time.Sleep(200 * time.Millisecond)
	io.WriteString(tm.ptmx, "echo again-$((1+1)); exit 5\r")
	tm.expect(`again-2`)
	if code := tm.wait(); code != 5 {
		t.Errorf("attach, exit 5: exit %d, want 5", code)
	}
	if out := c.ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "shell"); out != "exited 5\n" {
		t.Errorf("after exit 5: %q", out)
	}
	c.ok("rm", "shell")

	// A container run without -i or -t has no attach socket.
	id := strings.TrimSpace(c.ok("run", "-d", "--network", "none", "busybox", "sleep", "30"))
	c.expect(1, "", "", "cannot attach", "attach", id)
	c.ok("rm", "-f", id)
}
