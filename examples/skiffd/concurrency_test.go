package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffrt/skiff/internal/testutil"
)

// TestDockerCLIConcurrent runs many CLIs at once: parallel run --rm, and logs -f while
// exec runs, with no lost output and no deadlock.
func TestDockerCLIConcurrent(t *testing.T) {
	e := newEnv(t)
	img := e.busybox()

	const n = 8
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, stderr, code := e.run("run", "--rm", img, "sh", "-c", fmt.Sprintf("for j in 1 2 3; do echo %d-$j; done", i))
			if want := fmt.Sprintf("%d-1\n%d-2\n%d-3\n", i, i, i); code != 0 || out != want {
				errs <- fmt.Sprintf("run %d: exit %d, stdout %q (want %q), stderr %q", i, code, out, want, stderr)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if out := e.ok("ps", "-aq"); out != "" {
		t.Errorf("containers left after parallel run --rm: %q", out)
	}

	// The ticker lives until the execs are done (they are what is tested, not a race
	// with its exit), then ends, which ends logs -f.
	e.ok("run", "-d", "--name", "ticker", img, "sh", "-c",
		"i=0; while [ $i -lt 30 ]; do echo tick-$i; i=$((i+1)); sleep 0.05; done; while [ ! -e /tmp/done ]; do sleep 0.05; done")
	logs := make(chan string, 1)
	go func() { out, _, _ := e.run("logs", "-f", "ticker"); logs <- out }()
	for range 3 {
		if out := e.ok("exec", "ticker", "echo", "exec-ok"); out != "exec-ok\n" {
			t.Errorf("exec during logs -f = %q", out)
		}
	}
	e.ok("exec", "ticker", "touch", "/tmp/done")
	select {
	case out := <-logs:
		if !strings.HasPrefix(out, "tick-0\n") || !strings.HasSuffix(out, "tick-29\n") || strings.Count(out, "\n") != 30 {
			t.Errorf("logs -f = %q, want tick-0 … tick-29", out)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("logs -f did not end")
	}
	e.ok("rm", "ticker")
}

// TestDockerCLIRunPulls runs an image that is not in the store: the CLI gets a 404
// from create, pulls through skiffd and creates again.
func TestDockerCLIRunPulls(t *testing.T) {
	e := newEnv(t)
	addr := testutil.StartRegistry(t)
	ref := addr + "/busybox:auto"
	testutil.PushImage(t, ref, testutil.Busybox(t))
	out, errs, code := e.run("run", "--rm", ref, "echo", "pulled")
	if code != 0 || out != "pulled\n" || !strings.Contains(errs, "Unable to find image") {
		t.Errorf("run of a missing image: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	_, errs, code = e.run("run", "--rm", addr+"/nosuch:1", "true")
	if code != 125 {
		t.Errorf("run of an image no registry has: exit %d (want 125), stderr %q", code, errs)
	}
}

// TestDockerCLIDisconnect kills a CLI attached to a running container: skiffd frees
// the connection (the container keeps running).
func TestDockerCLIDisconnect(t *testing.T) {
	e := newEnv(t)
	img := e.busybox()
	sockets := func() int {
		n := 0
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", e.cmd.Process.Pid))
		for _, fd := range fds {
			if l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", e.cmd.Process.Pid, fd.Name())); err == nil && strings.HasPrefix(l, "socket:") {
				n++
			}
		}
		return n
	}
	// With --warm, skiffd keeps a monitor started ahead (and a socket to it) once it ran
	// a detached container: count with that one in place.
	e.ok("run", "--rm", img, "true")
	waitFor(t, "skiffd's warm monitor", func() bool { return warmMonitor(e.cmd.Process.Pid) })
	base := sockets()
	cmd := exec.Command(e.docker, "run", "--name", "quiet", img, "sleep", "60")
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+e.sock, "DOCKER_CONFIG="+e.dockerCf)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "container running", func() bool {
		out, _, _ := e.run("inspect", "-f", "{{.State.Status}}", "quiet")
		return out == "running\n"
	})
	if n := sockets(); n <= base {
		t.Fatalf("skiffd has %d sockets with a CLI attached, %d before", n, base)
	}
	cmd.Process.Kill()
	cmd.Wait()
	waitFor(t, "skiffd to close the attach and wait connections", func() bool { return sockets() <= base })
	if out := e.ok("inspect", "-f", "{{.State.Status}}", "quiet"); out != "running\n" {
		t.Errorf("after the CLI died: %q", out)
	}
	e.ok("rm", "-f", "quiet")
}

// warmMonitor reports whether the process pid has a monitor started ahead of its
// container (command line "skiff-monitor" alone) as a child.
func warmMonitor(pid int) bool {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, st := range stats {
		b, err := os.ReadFile(st)
		if err != nil {
			continue
		}
		_, rest, _ := strings.Cut(string(b), ") ")
		if f := strings.Fields(rest); len(f) < 2 || f[1] != strconv.Itoa(pid) {
			continue
		}
		if cl, _ := os.ReadFile(filepath.Join(filepath.Dir(st), "cmdline")); string(cl) == "skiff-monitor\x00" {
			return true
		}
	}
	return false
}
