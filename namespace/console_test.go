package namespace_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiffrt/skiff/namespace"
)

func TestTerminal(t *testing.T) {
	cfg, o, e := newConfig(t, busyboxRootfs(t), "sh", "-c", "tty; stty size; ls -l /proc/self/fd/0 | grep -o 'pts/[0-9]*'; ps -o pid,tty,comm | grep ' sh'; id -u")
	cfg.Spec.Process.Terminal = true
	cfg.Spec.Process.ConsoleSize = &specs.Box{Height: 30, Width: 100}
	cfg.Spec.Process.User = specs.User{UID: 1000, GID: 1000}
	r := run(t, cfg, o, e)
	out := strings.ReplaceAll(r.stdout, "\r\n", "\n")
	if r.status.Code != 0 || !strings.HasSuffix(out, "\n1000\n") || !re(`^/dev/pts/0\n30 100\npts/0\n +1 +136,0 +sh\n`).MatchString(out) {
		t.Fatalf("terminal: %+v stdout %q stderr %q", r.status, r.stdout, r.stderr)
	}
}

func TestTerminalInputAndResize(t *testing.T) {
	cfg, _, _ := newConfig(t, busyboxRootfs(t), "sh", "-c", `read line; echo "got $line"; stty size`)
	cfg.Stdout, cfg.Stderr = nil, nil
	cfg.Spec.Process.Terminal = true
	p, err := namespace.Create(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Signal(syscall.SIGKILL) })
	master := p.Console()
	if master == nil {
		t.Fatal("no console")
	}
	defer master.Close()
	if err := p.Resize(40, 120); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := master.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	done := make(chan struct{})
	go func() { _, _ = io.Copy(&out, master); close(done) }()
	st, err := p.Wait()
	if err != nil || st.Code != 0 {
		t.Fatalf("wait: %+v %v", st, err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("no EOF on the console")
	}
	// The terminal echoes the input, then the process answers.
	if got := strings.ReplaceAll(out.String(), "\r\n", "\n"); got != "hello\ngot hello\n40 120\n" {
		t.Fatalf("console output %q", got)
	}
}

func TestTerminalWithInitAndExec(t *testing.T) {
	cfg, _, _ := newConfig(t, busyboxRootfs(t), "sh", "-c", "tty; ps -o pid,tty,comm; sleep 100")
	o := &lockedBuffer{}
	cfg.Stdout = o
	cfg.Spec.Process.Terminal = true
	cfg.Spec.Annotations = map[string]string{namespace.AnnotationInit: "true"}
	p, err := namespace.Create(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Signal(syscall.SIGKILL); _, _ = p.Wait() })
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	// Let the command print its terminal and process list before anything else.
	for i := 0; i < 500 && !strings.Contains(o.String(), "skiff-init"); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	var eo bytes.Buffer
	x, err := namespace.Exec(context.Background(), p.Pid, &namespace.ExecConfig{
		Process: &specs.Process{Args: []string{"sh", "-c", "tty; stty size"}, Terminal: true,
			ConsoleSize: &specs.Box{Height: 12, Width: 34}},
		Stdout: &eo,
	})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := x.Wait(); err != nil || st.Code != 0 {
		t.Fatalf("exec: %+v %v", st, err)
	}
	if got := strings.ReplaceAll(eo.String(), "\r\n", "\n"); !re(`^/dev/pts/\d+\n12 34\n$`).MatchString(got) || got == "/dev/pts/0\n12 34\n" {
		t.Errorf("exec with a terminal: %q", got)
	}
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = p.Wait()
	// Init (pid 1) has no terminal; the command owns pts/0.
	if got := strings.ReplaceAll(o.String(), "\r\n", "\n"); !re(`^/dev/pts/0\n`).MatchString(got) ||
		!re(`\n +1 +\? +skiff-init\n`).MatchString(got) || !re(`\n +\d+ +136,0 +sh\n`).MatchString(got) {
		t.Errorf("terminal under init: %q", got)
	}
}

func TestStdinReaderDoesNotBlockWait(t *testing.T) {
	// A Reader that never ends (an idle network connection, say).
	r, w := io.Pipe()
	defer w.Close()
	cfg, o, e := newConfig(t, busyboxRootfs(t), "echo", "done")
	cfg.Stdin = r
	start := time.Now()
	res := run(t, cfg, o, e)
	if res.stdout != "done\n" || time.Since(start) > 3*time.Second {
		t.Fatalf("stdout %q after %v", res.stdout, time.Since(start))
	}
	// And input does reach the process.
	cfg, o, e = newConfig(t, busyboxRootfs(t), "sh", "-c", "read l; echo $l")
	cfg.Stdin = strings.NewReader("line one\nline two\n")
	if res := run(t, cfg, o, e); res.stdout != "line one\n" {
		t.Fatalf("read from stdin: %q %q", res.stdout, res.stderr)
	}
	// Exec too.
	p, _ := runningContainer(t, "x", "sleep", "100")
	var xo bytes.Buffer
	x, err := namespace.Exec(context.Background(), p.Pid, &namespace.ExecConfig{
		Process: &specs.Process{Args: []string{"echo", "exec done"}}, Stdin: r, Stdout: &xo})
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan struct{})
	go func() { _, _ = x.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("Wait of an exec'd process blocks on its stdin Reader")
	}
	if xo.String() != "exec done\n" {
		t.Fatalf("exec stdout %q", xo.String())
	}
}

// lockedBuffer is a bytes.Buffer safe to read while a copier writes to it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
