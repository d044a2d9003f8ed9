package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/skiffrt/skiff"
)

// apiWait sends POST /containers/{ref}/wait?condition=cond and returns once the
// headers are in (the daemon waits from then on, as the CLI relies on); the channel
// delivers the StatusCode, or -1 on any failure.
func (e *env) apiWait(t *testing.T, ref, cond string) <-chan int {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", e.sock)
	}}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://skiffd/v1.50/containers/"+ref+"/wait?condition="+cond, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("wait %s: %v", ref, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		t.Fatalf("wait %s: %s", ref, resp.Status)
	}
	ch := make(chan int, 1)
	go func() {
		defer cancel()
		defer resp.Body.Close()
		var body struct {
			StatusCode int
			Error      *struct{ Message string }
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Error != nil {
			t.Errorf("wait %s: %v %+v", ref, err, body.Error)
			ch <- -1
			return
		}
		ch <- body.StatusCode
	}()
	return ch
}

// TestDockerCLIAutoRemove: --rm is carried out by the container's monitor, which lets
// the attached client read the whole output and the waiters the exit code before it
// removes the container; a restart does not remove it. Restart policies and what
// inspect shows come from the library's state too.
func TestDockerCLIAutoRemove(t *testing.T) {
	e := newEnv(t)
	img := e.busybox()

	t.Run("run --rm reads the end", func(t *testing.T) {
		out, errs, code := e.run("run", "--rm", img, "sh", "-c", "seq 1 3000; echo end >&2; exit 4")
		if code != 4 || !strings.HasSuffix(out, "\n2999\n3000\n") || len(strings.Split(out, "\n")) != 3001 || errs != "end\n" {
			t.Errorf("run --rm: exit %d, %d lines of stdout ending %q, stderr %q", code, len(strings.Split(out, "\n"))-1, out[max(0, len(out)-20):], errs)
		}
		if out := e.ok("ps", "-aq"); out != "" {
			t.Errorf("after run --rm: ps -aq = %q", out)
		}
	})

	t.Run("wait removed", func(t *testing.T) {
		e.ok("create", "--rm", "--name", "quick", img, "sh", "-c", "exit 5")
		removed := e.apiWait(t, "quick", "removed")
		e.ok("start", "quick")
		if code := <-removed; code != 5 {
			t.Errorf("wait condition=removed of a --rm container = %d, want 5", code)
		}
		if out := e.ok("ps", "-aq"); out != "" {
			t.Errorf("after wait condition=removed: ps -aq = %q", out)
		}
	})

	t.Run("restart keeps it", func(t *testing.T) {
		e.ok("run", "-d", "--rm", "--name", "kept", img, "sleep", "60")
		e.ok("restart", "-t", "1", "kept")
		if out := e.ok("inspect", "-f", "{{.State.Status}} {{.State.Restarting}} {{.HostConfig.AutoRemove}} {{.HostConfig.RestartPolicy.Name}}", "kept"); out != "running false true no\n" {
			t.Errorf("after restart of a --rm container: %q", out)
		}
		removed := e.apiWait(t, "kept", "removed")
		e.ok("stop", "-t", "1", "kept") // sleep as PID 1 ignores SIGTERM: killed
		if code := <-removed; code != 137 {
			t.Errorf("wait condition=removed after stop = %d, want 137", code)
		}
		if out := e.ok("ps", "-aq"); out != "" {
			t.Errorf("after stop of a --rm container: ps -aq = %q", out)
		}
	})

	t.Run("next-exit", func(t *testing.T) {
		if _, errs, code := e.run("run", "--name", "twice", img, "sh", "-c", "test -e /ran && exit 2; touch /ran; exit 1"); code != 1 {
			t.Fatalf("first run: exit %d, stderr %q", code, errs)
		}
		next := e.apiWait(t, "twice", "next-exit")
		if out := e.ok("wait", "twice"); out != "1\n" {
			t.Errorf("docker wait of an exited container = %q, want its exit 1", out)
		}
		e.ok("start", "twice")
		if code := <-next; code != 2 {
			t.Errorf("wait condition=next-exit = %d, want the next run's 2", code)
		}
		e.ok("rm", "twice")
	})

	t.Run("restart policy", func(t *testing.T) {
		e.ok("run", "-d", "--restart", "on-failure:2", "--name", "flaky", img, "sh", "-c", "echo try; exit 3")
		waitFor(t, "two restarts", func() bool {
			out := e.ok("inspect", "-f", "{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}", "flaky")
			return out == "2 exited 3\n"
		})
		if out := e.ok("inspect", "-f", "{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}", "flaky"); out != "on-failure:2\n" {
			t.Errorf("inspect RestartPolicy = %q", out)
		}
		if out := e.ok("logs", "flaky"); out != "try\ntry\ntry\n" {
			t.Errorf("logs of three runs = %q", out)
		}
		e.ok("rm", "flaky")

		e.ok("run", "-d", "--restart", "always", "--name", "again", img, "true")
		waitFor(t, "a restart", func() bool {
			out := e.ok("inspect", "-f", "{{.RestartCount}}", "again")
			return out != "0\n"
		})
		e.ok("stop", "again")
		waitFor(t, "the restarts to end", func() bool {
			return e.ok("inspect", "-f", "{{.State.Status}}", "again") == "exited\n"
		})
		e.ok("rm", "again")
		_, errs, code := e.run("run", "-d", "--restart", "always", "--rm", img, "true")
		if code == 0 || !strings.Contains(errs, "onflict") {
			t.Errorf("run --restart always --rm: exit %d, stderr %q", code, errs)
		}
	})

	t.Run("start -a again", func(t *testing.T) {
		// With -i the container is attached through its monitor's socket, whose run may
		// be over before the attach reaches it: then its log is sent.
		e.ok("create", "-i", "--name", "again-i", img, "echo", "hi")
		for i := 0; i < 3; i++ {
			if out := e.ok("start", "-a", "again-i"); out != "hi\n" {
				t.Errorf("start -a, run %d = %q", i+1, out)
			}
		}
		e.ok("rm", "again-i")
	})

	t.Run("made by another program", func(t *testing.T) {
		eng, err := skiff.New(skiff.WithRoot(e.root), skiff.WithCgroupParent(e.parent), skiff.WithNetworkNames(e.link, e.link))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		c, err := eng.Create(ctx, skiff.ContainerConfig{Image: img, Name: "elsewhere", Network: skiff.NetworkNone, Detach: true,
			Env: []string{"FROM=library"}, Cmd: []string{"sleep", "60"}, WorkingDir: "/tmp"})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Delete(ctx, skiff.WithForce())
		out := e.ok("inspect", "-f", "{{.Config.Env}} {{.Config.Cmd}} {{.Config.WorkingDir}} {{.HostConfig.NetworkMode}} {{.State.Status}}", "elsewhere")
		if out != "[FROM=library] [sleep 60] /tmp none created\n" {
			t.Errorf("docker inspect of a container the library made = %q", out)
		}
	})
}
