package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDockerCLIEvents: docker events replays a container's life with Docker's fields
// and filters, follows new events as they happen, and the swarm routes answer as a
// non-swarm Docker.
func TestDockerCLIEvents(t *testing.T) {
	e := newEnv(t)
	img := e.busybox()
	since := strconv.FormatInt(time.Now().Add(-time.Second).Unix(), 10)

	// Follow in the background while a container runs (replaying from since: the
	// follower may reach skiffd after the first events).
	follow := exec.Command("docker", "events", "--since", since, "--filter", "type=container", "--filter", "container=evfollow", "--format", "{{json .}}")
	follow.Env = append(os.Environ(), "DOCKER_HOST=unix://"+e.sock, "DOCKER_CONFIG="+e.dockerCf)
	stdout, err := follow.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { follow.Process.Kill(); follow.Wait() })
	actions := make(chan string, 32)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var ev struct{ Action string }
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				actions <- ev.Action
			}
		}
		close(actions)
	}()
	if _, errs, code := e.run("run", "--name", "evfollow", "-l", "suite=events", img, "sh", "-c", "exit 5"); code != 5 {
		t.Fatalf("run: exit %d, %s", code, errs)
	}
	e.ok("rm", "evfollow")
	var got []string
	timeout := time.After(15 * time.Second)
	for len(got) < 4 {
		select {
		case a, ok := <-actions:
			if !ok {
				t.Fatalf("docker events ended; got %q", got)
			}
			got = append(got, a)
		case <-timeout:
			t.Fatalf("followed events = %q, want create start die destroy", got)
		}
	}
	if strings.Join(got, " ") != "create start die destroy" {
		t.Errorf("followed events = %q", got)
	}

	// A replay with since/until ends by itself and carries Docker's fields.
	until := strconv.FormatInt(time.Now().Add(time.Second).Unix(), 10)
	out := e.ok("events", "--since", since, "--until", until, "--filter", "event=die", "--filter", "label=suite=events", "--format", "{{json .}}")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 {
		t.Fatalf("replayed die events: %q", out)
	}
	var ev struct {
		Type, Action, Status, ID, From string
		Actor                          struct {
			ID         string
			Attributes map[string]string
		}
		Scope    string `json:"scope"`
		Time     int64  `json:"time"`
		TimeNano int64  `json:"timeNano"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Type != "container" || ev.Action != "die" || ev.Actor.Attributes["exitCode"] != "5" ||
		ev.Actor.Attributes["name"] != "evfollow" || ev.Actor.Attributes["image"] != img || len(ev.Actor.ID) != 64 ||
		ev.Scope != "local" || ev.TimeNano/1e9 != ev.Time {
		t.Errorf("die event = %s", lines[0])
	}
	_, errs, code := e.run("events", "--since", until, "--until", since)
	if code == 0 || !strings.Contains(errs, "cannot be after") {
		t.Errorf("events with until before since: exit %d, %q", code, errs)
	}

	// Not a swarm manager, in Docker's words and status.
	_, errs, code = e.run("service", "ls")
	if code == 0 || !strings.Contains(errs, "This node is not a swarm manager") {
		t.Errorf("service ls: exit %d, %q", code, errs)
	}
}
