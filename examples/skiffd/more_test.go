package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDockerCLIMore(t *testing.T) {
	e := newEnv(t)
	img := e.busybox()

	t.Run("exit codes", func(t *testing.T) {
		_, errs, code := e.run("run", "--rm", img, "/etc/passwd")
		if code != 126 {
			t.Errorf("run of a non-executable: exit %d (want 126), stderr %q", code, errs)
		}
		_, errs, code = e.run("stop", "nosuch")
		if code != 1 || strings.TrimSpace(errs) != "Error response from daemon: No such container: nosuch" {
			t.Errorf("stop nosuch: exit %d, stderr %q", code, errs)
		}
		_, errs, code = e.run("run", "--name", "dup", img, "true")
		if code != 0 {
			t.Fatalf("run --name dup: exit %d, stderr %q", code, errs)
		}
		_, errs, code = e.run("run", "--name", "dup", img, "true")
		if code != 125 || !strings.Contains(errs, "already in use") {
			t.Errorf("second run --name dup: exit %d, stderr %q", code, errs)
		}
		e.ok("rm", "dup")
	})

	t.Run("logs tail timestamps", func(t *testing.T) {
		e.ok("run", "--name", "lines", img, "sh", "-c", "for i in 1 2 3 4 5; do echo line$i; done")
		if out := e.ok("logs", "--tail", "2", "lines"); out != "line4\nline5\n" {
			t.Errorf("logs --tail 2 = %q", out)
		}
		out := e.ok("logs", "--timestamps", "--tail", "1", "lines")
		f := strings.Fields(out)
		if len(f) != 2 || f[1] != "line5" {
			t.Fatalf("logs --timestamps = %q", out)
		}
		if _, err := time.Parse(time.RFC3339Nano, f[0]); err != nil {
			t.Errorf("logs --timestamps: %q is not RFC 3339: %v", f[0], err)
		}
		// start -a of an exited container runs it again.
		if out := e.ok("start", "-a", "lines"); !strings.HasSuffix(out, "line4\nline5\n") {
			t.Errorf("start -a again = %q", out)
		}
		e.ok("rm", "lines")
	})

	t.Run("build target and stdin dockerfile", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+img+" AS one\nRUN echo one > /stage\nFROM "+img+" AS two\nRUN echo two > /stage\n"), 0o644)
		e.ok("build", "-t", "staged:one", "--target", "one", dir)
		if out := e.ok("run", "--rm", "staged:one", "cat", "/stage"); out != "one\n" {
			t.Errorf("build --target one: /stage = %q", out)
		}
		out, errs, code := e.runIn([]byte("FROM "+img+"\nRUN echo piped > /p\n"), "build", "-t", "piped:1", "-f-", dir)
		if code != 0 {
			t.Fatalf("build -f-: exit %d\n%s\n%s", code, out, errs)
		}
		if out := e.ok("run", "--rm", "piped:1", "cat", "/p"); out != "piped\n" {
			t.Errorf("build -f-: /p = %q", out)
		}
	})
}
