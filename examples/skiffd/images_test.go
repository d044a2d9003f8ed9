package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/skiffrt/skiff/internal/testutil"
)

func TestDockerCLIImages(t *testing.T) {
	e := newEnv(t)
	img := e.busybox()
	addr := strings.Split(img, "/")[0]

	t.Run("inspect tag rmi", func(t *testing.T) {
		if out := e.ok("image", "inspect", "-f", "{{.Os}} {{len .RootFS.Layers}}", img); out != "linux 3\n" {
			t.Errorf("image inspect = %q", out)
		}
		e.ok("tag", img, "mytag:1")
		if out := e.ok("images", "--format", "{{.Repository}}:{{.Tag}}", "mytag"); out != "mytag:1\n" {
			t.Errorf("images mytag = %q", out)
		}
		out := e.ok("rmi", "mytag:1")
		if !strings.Contains(out, "Untagged: mytag:1") {
			t.Errorf("rmi = %q", out)
		}
		_, errs, code := e.run("rmi", "nosuch:1")
		if code != 1 || !strings.Contains(errs, "No such image: nosuch:1") {
			t.Errorf("rmi nosuch: exit %d, stderr %q", code, errs)
		}
	})

	t.Run("build push pull", func(t *testing.T) {
		ctxDir := t.TempDir()
		os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte("FROM "+img+" AS base\nARG WHO=nobody\nRUN echo built-for-$WHO > /greeting\nCOPY file.txt /file.txt\nFROM base\nCMD [\"sh\", \"-c\", \"cat /greeting /file.txt\"]\n"), 0o644)
		os.WriteFile(filepath.Join(ctxDir, "file.txt"), []byte("copied\n"), 0o644)
		ref := addr + "/built:1"
		out, errs, code := e.run("build", "-t", ref, "--build-arg", "WHO=skiff", ctxDir)
		if code != 0 || !strings.Contains(out, "Successfully tagged "+ref) {
			t.Fatalf("docker build: exit %d\nstdout %s\nstderr %s", code, out, errs)
		}
		if out := e.ok("run", "--rm", ref); out != "built-for-skiff\ncopied\n" {
			t.Errorf("run built image = %q", out)
		}
		out, errs, code = e.run("build", "-q", ctxDir)
		if code != 0 || !strings.HasPrefix(strings.TrimSpace(out), "sha256:") {
			t.Errorf("docker build -q: exit %d, stdout %q, stderr %q", code, out, errs)
		}
		os.WriteFile(filepath.Join(ctxDir, "Dockerfile.bad"), []byte("FROM "+img+"\nRUN exit 3\n"), 0o644)
		_, errs, code = e.run("build", "-f", filepath.Join(ctxDir, "Dockerfile.bad"), ctxDir)
		if code != 3 {
			t.Errorf("failing build: exit %d (want 3), stderr %q", code, errs)
		}

		e.ok("push", ref)
		fresh := newEnv(t) // a fresh root: pull back what was pushed
		if out := fresh.ok("pull", ref); !strings.Contains(out, ref) {
			t.Errorf("pull into fresh root = %q", out)
		}
		if out := fresh.ok("run", "--rm", ref); out != "built-for-skiff\ncopied\n" {
			t.Errorf("run pulled image = %q", out)
		}
	})

	t.Run("networks", func(t *testing.T) {
		e.ok("network", "create", "--subnet", "10.213.0.0/24", "appnet")
		if out := e.ok("network", "ls", "--format", "{{.Name}}"); !strings.Contains(out, "appnet") {
			t.Errorf("network ls = %q", out)
		}
		e.ok("run", "-d", "--name", "srv", "--network", "appnet", img, "sleep", "60")
		if out := e.ok("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}}{{end}}", "appnet"); out != "10.213.0.0/24\n" {
			t.Errorf("network inspect = %q", out)
		}
		if out := e.ok("run", "--rm", "--network", "appnet", img, "ping", "-c", "1", "-W", "2", "srv"); !strings.Contains(out, "1 packets received") {
			t.Errorf("ping srv by name = %q", out)
		}
		e.ok("rm", "-f", "srv")
		e.ok("network", "rm", "appnet")
	})

	t.Run("system df port kill restart", func(t *testing.T) {
		e.ok("system", "df")
		e.ok("run", "-d", "--name", "p", "-p", "127.0.0.1::80", img, "sleep", "60")
		if out := e.ok("port", "p"); !strings.HasPrefix(out, "80/tcp -> 127.0.0.1:") {
			t.Errorf("docker port = %q", out)
		}
		// -P publishes each exposed port on a free host port; -p ones stay as given.
		e.ok("run", "-d", "--name", "pall", "-P", "--expose", "8080", "--expose", "53/udp", "-p", "127.0.0.1::80", img, "sleep", "60")
		out := e.ok("port", "pall")
		for _, re := range []string{`(?m)^8080/tcp -> 0\.0\.0\.0:\d+$`, `(?m)^53/udp -> 0\.0\.0\.0:\d+$`, `(?m)^80/tcp -> 127\.0\.0\.1:\d+$`} {
			if !regexp.MustCompile(re).MatchString(out) {
				t.Errorf("docker port after -P lacks %s:\n%s", re, out)
			}
		}
		if pa := e.ok("inspect", "-f", "{{.HostConfig.PublishAllPorts}}", "pall"); pa != "true\n" {
			t.Errorf("inspect PublishAllPorts = %q", pa)
		}
		e.ok("rm", "-f", "pall")
		// Sizes when asked (size=1): the writable layer, and it with the image's.
		if sz := e.ok("ps", "-s", "--filter", "name=^p$", "--format", "{{.Size}}"); !regexp.MustCompile(`^\d+(\.\d+)?k?B \(virtual \d+(\.\d+)?[kM]B\)\n$`).MatchString(sz) {
			t.Errorf("docker ps -s = %q", sz)
		}
		if sz := e.ok("inspect", "-s", "-f", "{{.SizeRw}} {{.SizeRootFs}}", "p"); !regexp.MustCompile(`^\d+ [1-9]\d{5,}\n$`).MatchString(sz) {
			t.Errorf("docker inspect -s: SizeRw SizeRootFs = %q", sz)
		}
		id := e.ok("inspect", "-f", "{{.Id}}", "p")
		e.ok("restart", "-t", "1", "p")
		if out := e.ok("inspect", "-f", "{{.State.Status}} {{.Id}}", "p"); out != "running "+id {
			t.Errorf("after restart: %q, want running with the same ID %s", out, id)
		}
		_, errs, code := e.run("rmi", img)
		if code != 1 || !strings.Contains(errs, "conflict") {
			t.Errorf("rmi of an image in use: exit %d, stderr %q", code, errs)
		}
		e.ok("kill", "p")
		if out := e.ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "p"); out != "exited 137\n" {
			t.Errorf("after kill: %q", out)
		}
		e.ok("rm", "p")
	})
}

func TestDockerCLIVolumes(t *testing.T) {
	e := newEnv(t)
	img := e.busybox()
	if out := e.ok("volume", "create", "data"); out != "data\n" {
		t.Errorf("volume create = %q", out)
	}
	if out := e.ok("volume", "ls", "-q"); out != "data\n" {
		t.Errorf("volume ls -q = %q", out)
	}
	e.ok("run", "--rm", "-v", "data:/data", img, "sh", "-c", "echo kept > /data/f")
	if out := e.ok("run", "--rm", "-v", "data:/data", img, "cat", "/data/f"); out != "kept\n" {
		t.Errorf("volume content = %q", out)
	}
	if out := e.ok("volume", "inspect", "-f", "{{.Driver}} {{.Name}}", "data"); out != "local data\n" {
		t.Errorf("volume inspect = %q", out)
	}
	e.ok("volume", "rm", "data")
	_, errs, code := e.run("volume", "inspect", "data")
	if code != 1 || !strings.Contains(errs, "no such volume") {
		t.Errorf("inspect removed volume: exit %d, stderr %q", code, errs)
	}
}

func TestDockerCLILogin(t *testing.T) {
	e := newEnv(t)
	img := e.busybox()
	addr := testutil.StartRegistryAuth(t, "alice", "s3cret")

	_, errs, code := e.runIn([]byte("wrong\n"), "login", addr, "-u", "alice", "--password-stdin")
	if code != 1 || !strings.Contains(errs, "401") {
		t.Errorf("login with a wrong password: exit %d, stderr %q", code, errs)
	}
	out, errs, code := e.runIn([]byte("s3cret\n"), "login", addr, "-u", "alice", "--password-stdin")
	if code != 0 || !strings.Contains(out, "Login Succeeded") {
		t.Fatalf("login: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	ref := addr + "/private:1"
	e.ok("tag", img, ref)
	e.ok("push", ref)
	e.ok("rmi", ref)
	if out := e.ok("pull", ref); !strings.Contains(out, ref) {
		t.Errorf("pull with credentials = %q", out)
	}
	e.ok("logout", addr)
	e.ok("rmi", ref)
	_, errs, code = e.run("pull", ref)
	if code != 1 {
		t.Errorf("pull after logout: exit %d, stderr %q", code, errs)
	}
}
