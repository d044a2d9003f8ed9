package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

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

func TestDockerCLIDetached(t *testing.T) {
	e := newEnv(t)
	img := e.busybox()

	id := strings.TrimSpace(e.ok("run", "-d", "--name", "web", "-e", "GREETING=hello", img,
		"sh", "-c", "echo $GREETING; echo oops >&2; trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done"))
	if len(id) != 64 {
		t.Fatalf("docker run -d printed %q, want a 64-hex ID", id)
	}
	waitFor(t, "log line", func() bool { out, _, _ := e.run("logs", "web"); return strings.Contains(out, "hello") })

	out, errs, code := e.run("logs", "web")
	if code != 0 || out != "hello\n" || errs != "oops\n" {
		t.Errorf("docker logs: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if out := e.ok("ps", "-q"); !strings.HasPrefix(id, strings.TrimSpace(out)) || strings.TrimSpace(out) == "" {
		t.Errorf("docker ps -q = %q, want %s", out, id[:12])
	}
	if out := e.ok("ps", "--format", "{{.Names}} {{.Status}}"); !strings.HasPrefix(out, "web Up") {
		t.Errorf("docker ps = %q", out)
	}
	if out := e.ok("inspect", "-f", "{{.State.Status}} {{.Name}} {{.Config.Tty}}", "web"); out != "running /web false\n" {
		t.Errorf("docker inspect = %q", out)
	}
	out, errs, code = e.run("exec", "web", "sh", "-c", "echo in-$GREETING; exit 7")
	if code != 7 || out != "in-hello\n" {
		t.Errorf("docker exec: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if out := e.ok("exec", "-e", "X=1", "-w", "/tmp", "web", "sh", "-c", "echo $X $(pwd)"); out != "1 /tmp\n" {
		t.Errorf("docker exec -e -w = %q", out)
	}
	_, errs, code = e.run("exec", "web", "nosuchcmd")
	if code != 126 { // Docker's exec: 126 for any command that cannot start (run: 127)
		t.Errorf("docker exec nosuchcmd: exit %d, stderr %q, want 126", code, errs)
	}

	e.ok("pause", "web")
	if out := e.ok("inspect", "-f", "{{.State.Status}}", "web"); out != "paused\n" {
		t.Errorf("after pause: %q", out)
	}
	if out := e.ok("ps", "-q", "--filter", "status=paused"); strings.TrimSpace(out) != id[:12] {
		t.Errorf("ps --filter status=paused = %q", out)
	}
	e.ok("unpause", "web")

	// logs -f ends when the container stops.
	done := make(chan string, 1)
	go func() { out, _, _ := e.run("logs", "-f", "web"); done <- out }()
	time.Sleep(300 * time.Millisecond)
	if out := e.ok("stop", "web"); out != "web\n" {
		t.Errorf("docker stop printed %q", out)
	}
	select {
	case out := <-done:
		if out != "hello\nbye\n" {
			t.Errorf("docker logs -f = %q, want hello and bye", out)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("docker logs -f did not end when the container stopped")
	}
	if out := e.ok("ps", "-a", "-q", "--filter", "status=exited"); strings.TrimSpace(out) != id[:12] {
		t.Errorf("ps -a -q --filter status=exited = %q", out)
	}
	if out := e.ok("wait", "web"); out != "0\n" {
		t.Errorf("docker wait = %q", out)
	}
	e.ok("rm", "web")
	if out := e.ok("ps", "-a", "-q"); out != "" {
		t.Errorf("after rm: ps -a -q = %q", out)
	}
	_, errs, code = e.run("inspect", "web")
	if code != 1 || !strings.Contains(errs, "No such object: web") {
		t.Errorf("inspect after rm: exit %d, stderr %q", code, errs)
	}
}

func TestDockerCLIRunFlags(t *testing.T) {
	e := newEnv(t)
	img := e.busybox()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), []byte("from host\n"), 0o644)

	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-e", "A=1", img, "sh", "-c", "echo $A"}, "1\n"},
		{[]string{"-w", "/etc", img, "pwd"}, "/etc\n"},
		{[]string{"--user", "1000:1000", img, "id", "-u"}, "1000\n"},
		{[]string{"--entrypoint", "echo", img, "via", "entrypoint"}, "via entrypoint\n"},
		{[]string{"-v", dir + ":/data:ro", img, "cat", "/data/f"}, "from host\n"},
		{[]string{"--network", "none", img, "sh", "-c", "ls /sys/class/net | tr '\\n' ' '"}, "lo "},
		{[]string{"--init", img, "sh", "-c", "cat /proc/1/comm"}, ""},
		{[]string{"--name", "named", "--cpus", "0.5", img, "hostname"}, ""},
	}
	for _, c := range cases {
		out, errs, code := e.run(append([]string{"run", "--rm"}, c.args...)...)
		if code != 0 || c.want != "" && out != c.want {
			t.Errorf("docker run --rm %s: exit %d, stdout %q (want %q), stderr %q", strings.Join(c.args, " "), code, out, c.want, errs)
		}
	}
	_, errs, code := e.run("run", "--rm", img, "/nosuch")
	if code != 127 {
		t.Errorf("docker run /nosuch: exit %d, stderr %q, want 127", code, errs)
	}

	// --memory and --cpus reach the container's cgroup.
	id := strings.TrimSpace(e.ok("run", "-d", "--memory", "64m", "--cpus", "0.5", img, "sleep", "30"))
	mem := []string{"/sys/fs/cgroup/memory/" + e.parent + "/" + id + "/memory.limit_in_bytes", "/sys/fs/cgroup/" + e.parent + "/" + id + "/memory.max"}
	found := false
	for _, p := range mem {
		if b, err := os.ReadFile(p); err == nil {
			found = true
			if strings.TrimSpace(string(b)) != "67108864" {
				t.Errorf("%s = %q, want 67108864", p, b)
			}
		}
	}
	if !found {
		t.Errorf("no memory limit file of the container's cgroup among %v", mem)
	}
	e.ok("rm", "-f", id)

	// create, start -a, port.
	id = strings.TrimSpace(e.ok("create", "--name", "c1", "-p", "127.0.0.1:0:80", img, "echo", "created"))
	if out := e.ok("start", "-a", "c1"); out != "created\n" {
		t.Errorf("docker start -a = %q", out)
	}
	e.ok("rm", id)
}
