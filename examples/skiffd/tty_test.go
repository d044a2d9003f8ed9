package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// ptyRun runs docker in a real terminal (a pty), types each input once the previous
// output appeared, and returns everything it printed and its exit code.
func (e *env) ptyRun(t *testing.T, steps []ptyStep, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.docker, args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+e.sock, "DOCKER_CONFIG="+e.dockerCf, "TERM=dumb")
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 30, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var mu sync.Mutex
	var out bytes.Buffer
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	seen := func(s string) bool { mu.Lock(); defer mu.Unlock(); return strings.Contains(out.String(), s) }
	for _, s := range steps {
		if s.waitFor != "" {
			for deadline := time.Now().Add(20 * time.Second); !seen(s.waitFor); time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					mu.Lock()
					t.Fatalf("docker %s: %q never appeared in %q", strings.Join(args, " "), s.waitFor, out.String())
				}
			}
		}
		io.WriteString(f, s.input)
	}
	err = cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	mu.Lock()
	defer mu.Unlock()
	return out.String(), code
}

type ptyStep struct{ waitFor, input string }

func TestDockerCLIInteractive(t *testing.T) {
	e := newEnv(t)
	img := e.busybox()

	t.Run("run -i", func(t *testing.T) {
		out, errs, code := e.runIn([]byte("line one\nline two\n"), "run", "-i", "--rm", img, "sh", "-c", "cat; echo done")
		if code != 0 || out != "line one\nline two\ndone\n" {
			t.Errorf("docker run -i: exit %d, stdout %q, stderr %q", code, out, errs)
		}
	})
	t.Run("run -it", func(t *testing.T) {
		out, code := e.ptyRun(t, []ptyStep{
			{input: "tty; echo hello-$((40+2))\n"},
			{waitFor: "hello-42", input: "exit 5\n"},
		}, "run", "-it", "--rm", img, "sh")
		if code != 5 || !strings.Contains(out, "/dev/pts/") {
			t.Errorf("docker run -it: exit %d (want 5), output %q", code, out)
		}
	})
	t.Run("exec -it", func(t *testing.T) {
		e.ok("run", "-d", "--name", "box", img, "sleep", "60")
		defer e.run("rm", "-f", "box")
		out, code := e.ptyRun(t, []ptyStep{
			{input: "tty; echo in-$((1+1))\n"},
			{waitFor: "in-2", input: "exit 4\n"},
		}, "exec", "-it", "box", "sh")
		if code != 4 || !strings.Contains(out, "/dev/pts/") {
			t.Errorf("docker exec -it: exit %d (want 4), output %q", code, out)
		}
		out, errs, code := e.runIn([]byte("piped\n"), "exec", "-i", "box", "cat")
		if code != 0 || out != "piped\n" {
			t.Errorf("docker exec -i: exit %d, stdout %q, stderr %q", code, out, errs)
		}
	})
}
