package skiff_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffrt/skiff"
)

// syncBuffer is a bytes.Buffer safe for a writer and a poller.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitOutput waits until buf matches re.
func waitOutput(t *testing.T, buf *syncBuffer, re string) {
	t.Helper()
	r := regexp.MustCompile(re)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if r.MatchString(buf.String()) {
			return
		}
	}
	t.Fatalf("output never matched %q: %q", re, buf.String())
}

// TestAttachStdin attaches to a detached `cat` with an open stdin, from two clients:
// what one writes comes back to both, stdout and stderr stay apart, the output is
// also logged, and closing stdin ends cat.
func TestAttachStdin(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := e.Create(ctx, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Detach: true, OpenStdin: true,
		Cmd: []string{"sh", "-c", "echo ready >&2; cat; echo bye >&2"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Delete(context.Background(), skiff.WithForce()) })

	// Attached before the start: the first output is not lost.
	var out, errs syncBuffer
	pr, pw := io.Pipe()
	a, err := c.Attach(ctx, skiff.AttachOptions{Stdin: pr, CloseStdin: true, Stdout: &out, Stderr: &errs})
	if err != nil {
		t.Fatal(err)
	}
	if a.Tty() {
		t.Error("Tty() is true for a container without a terminal")
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, &errs, "^ready\n$")

	// A second client, from another Container value (as another process would).
	c2, err := e.Container(ctx, c.ID())
	if err != nil {
		t.Fatal(err)
	}
	var out2 syncBuffer
	a2, err := c2.Attach(ctx, skiff.AttachOptions{Stdout: &out2})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(pw, "hello\n")
	waitOutput(t, &out, "^hello\n$")
	waitOutput(t, &out2, "^hello\n$")
	// A client that leaves does not end the container.
	a2.Close()
	io.WriteString(pw, "again\n")
	waitOutput(t, &out, "^hello\nagain\n$")

	pw.Close() // EOF: CloseStdin closes cat's stdin
	if err := a.Wait(); err != nil {
		t.Errorf("attach: %v", err)
	}
	if st := c.State(); st.Status != skiff.StatusExited || st.ExitCode != 0 {
		t.Errorf("when the attach stream ended the container is %s (exit %d), want exited 0", st.Status, st.ExitCode)
	}
	if errs.String() != "ready\nbye\n" || out.String() != "hello\nagain\n" {
		t.Errorf("attached: stdout %q, stderr %q", out.String(), errs.String())
	}
	var logOut, logErr bytes.Buffer
	if err := c.Logs(ctx, skiff.LogOptions{Tail: -1}, &logOut, &logErr); err != nil {
		t.Fatal(err)
	}
	if logOut.String() != "hello\nagain\n" || logErr.String() != "ready\nbye\n" {
		t.Errorf("log: stdout %q, stderr %q", logOut.String(), logErr.String())
	}
	if _, err := c.Attach(ctx, skiff.AttachOptions{}); !errors.Is(err, skiff.ErrInvalidState) {
		t.Errorf("attach to an exited container: %v, want ErrInvalidState", err)
	}

	// A detached container without stdin or terminal has no attach socket.
	plain := startBackground(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Detach: true, Cmd: []string{"sleep", "30"}})
	if _, err := plain.Attach(ctx, skiff.AttachOptions{}); !errors.Is(err, skiff.ErrNotAttachable) {
		t.Errorf("attach to a container without stdin: %v, want ErrNotAttachable", err)
	}
}

// TestAttachTerminal attaches to a detached shell with a terminal: it runs on a
// /dev/pts terminal, follows resizes (through the stream and through
// Container.Resize from another Container value), and survives a detach.
func TestAttachTerminal(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := startBackground(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Detach: true, OpenStdin: true, Tty: true, Cmd: []string{"sh"}})

	var out syncBuffer
	pr, pw := io.Pipe()
	a, err := c.Attach(ctx, skiff.AttachOptions{Stdin: pr, Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	if !a.Tty() {
		t.Fatal("Tty() is false for a container with a terminal")
	}
	if err := a.Resize(21, 77); err != nil {
		t.Fatal(err)
	}
	io.WriteString(pw, "tty; stty size; echo x$((6*7))\n")
	waitOutput(t, &out, `/dev/pts/\d+\r\n21 77\r\nx42`)
	a.Close()

	// Resize from elsewhere, then attach again: the shell is still there.
	c2, err := e.Container(ctx, c.ID())
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.Resize(33, 99); err != nil {
		t.Fatal(err)
	}
	var out2 syncBuffer
	pr2, pw2 := io.Pipe()
	a2, err := c2.Attach(ctx, skiff.AttachOptions{Stdin: pr2, Stdout: &out2})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(pw2, "stty size; exit 3\n")
	if err := a2.Wait(); err != nil {
		t.Errorf("attach: %v", err)
	}
	if !strings.Contains(out2.String(), "33 99\r\n") {
		t.Errorf("after Container.Resize(33, 99) the terminal shows %q", out2.String())
	}
	if st, err := c.Wait(ctx); err != nil || st.Code != 3 {
		t.Errorf("exit %+v, %v; want 3", st, err)
	}
	// The terminal's output is logged too.
	var logOut bytes.Buffer
	c.Logs(ctx, skiff.LogOptions{Tail: -1}, &logOut, &logOut)
	if !strings.Contains(logOut.String(), "x42") {
		t.Errorf("log of a terminal: %q", logOut.String())
	}
}
