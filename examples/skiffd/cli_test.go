package main

import (
	"strings"
	"testing"
)

func TestDockerCLI(t *testing.T) {
	e := newEnv(t)
	img := e.busybox()

	t.Run("version", func(t *testing.T) {
		out := e.ok("version", "--format", "{{.Server.APIVersion}} {{.Server.Os}}")
		if strings.TrimSpace(out) != "1.50 linux" {
			t.Errorf("docker version: %q", out)
		}
		e.ok("info")
	})
	t.Run("images", func(t *testing.T) {
		out := e.ok("images", "--format", "{{.Repository}}:{{.Tag}}")
		if !strings.Contains(out, img) {
			t.Errorf("docker images: %q, want %s", out, img)
		}
	})
	t.Run("run echo", func(t *testing.T) {
		out, errs, code := e.run("run", "--rm", img, "echo", "hi")
		if code != 0 || out != "hi\n" {
			t.Errorf("docker run --rm echo hi: exit %d, stdout %q, stderr %q", code, out, errs)
		}
	})
	t.Run("exit code", func(t *testing.T) {
		_, errs, code := e.run("run", "--rm", img, "sh", "-c", "exit 3")
		if code != 3 {
			t.Errorf("exit code %d, want 3 (stderr %q)", code, errs)
		}
	})
	t.Run("streams", func(t *testing.T) {
		out, errs, code := e.run("run", "--rm", img, "sh", "-c", "echo out; echo err >&2")
		if code != 0 || out != "out\n" || errs != "err\n" {
			t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
		}
	})
	t.Run("rm nosuch", func(t *testing.T) {
		_, errs, code := e.run("rm", "nosuch")
		if code != 1 || strings.TrimSpace(errs) != "Error response from daemon: No such container: nosuch" {
			t.Errorf("exit %d, stderr %q", code, errs)
		}
	})
}
