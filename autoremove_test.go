package skiff_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiffrt/skiff"
)

// TestConfigRecorded: what a container was created with, a client's extensions
// included, is read back by another handle (as by another process); a state written
// before the config was recorded still loads.
func TestConfigRecorded(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	ext := []byte(`{"HostConfig":{"AutoRemove":false},"StdinOnce":true}`)
	cfg := skiff.ContainerConfig{Image: img, Name: "recorded", Network: skiff.NetworkNone, Detach: true,
		Cmd: []string{"sleep", "60"}, Env: []string{"A=1"}, Labels: map[string]string{"k": "v"},
		Mounts:     []skiff.Mount{{Type: skiff.MountTmpfs, Target: "/scratch", TmpfsSize: 1 << 20}},
		Resources:  skiff.Resources{PidsLimit: 32},
		Extensions: map[string][]byte{"skiffd/create": ext},
		Stdout:     io.Discard,
	}
	c, err := e.Create(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Delete(ctx, skiff.WithForce())
	other, err := e.Container(ctx, "recorded")
	if err != nil {
		t.Fatal(err)
	}
	got := other.Config()
	if got.Image != img || got.Name != "recorded" || !got.Detach || strings.Join(got.Cmd, " ") != "sleep 60" ||
		strings.Join(got.Env, ",") != "A=1" || got.Labels["k"] != "v" || got.Resources.PidsLimit != 32 ||
		len(got.Mounts) != 1 || got.Mounts[0].Target != "/scratch" || got.Mounts[0].TmpfsSize != 1<<20 || got.Stdout != nil {
		t.Errorf("Config() = %+v", got)
	}
	if string(got.Extensions["skiffd/create"]) != string(ext) {
		t.Errorf("extension = %q, want %q", got.Extensions["skiffd/create"], ext)
	}
	got.Extensions["skiffd/create"] = nil // a copy: the container's record stays
	if string(other.Config().Extensions["skiffd/create"]) != string(ext) {
		t.Errorf("Config() shares its Extensions map with the container")
	}

	// A state file of an older engine, without "config".
	path := filepath.Join(e.Root(), "containers", c.ID(), "state.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw["config"]; !ok {
		t.Fatalf("state.json has no config: %s", data)
	}
	delete(raw, "config")
	if data, err = json.Marshal(raw); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	old, err := e.Container(ctx, c.ID())
	if err != nil {
		t.Fatalf("load a state without config: %v", err)
	}
	if got := old.Config(); got.Image != img || got.Name != "recorded" || !got.Detach || got.Labels["k"] != "v" ||
		got.Resources.PidsLimit != 32 || got.Extensions != nil {
		t.Errorf("Config() of an old state = %+v", got)
	}
}

// TestAutoRemoveWaitsForHolders: the monitor of a --rm container that exits at once
// lets a waiter read the exit code and a holder read the whole log before it
// removes the container, and removes it once they are done.
func TestAutoRemoveWaitsForHolders(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := e.Create(ctx, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Detach: true, AutoRemove: true,
		Cmd: []string{"sh", "-c", "echo last words; exit 7"}})
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.Container(ctx, c.ID())
	if err != nil {
		t.Fatal(err)
	}
	release, err := other.Hold()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	type result struct {
		st  skiff.ExitStatus
		err error
	}
	removed := make(chan result, 1)
	go func() {
		st, err := other.Wait(ctx, skiff.UntilRemoved())
		removed <- result{st, err}
	}()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := other.Wait(ctx)
	if err != nil || st.Code != 7 {
		t.Fatalf("wait for a --rm container: %+v, %v; want exit 7", st, err)
	}
	// Held: still there, with the whole log.
	var out strings.Builder
	if err := other.Logs(ctx, skiff.LogOptions{Follow: true, Tail: -1}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "last words\n" {
		t.Errorf("log of a held --rm container = %q", out.String())
	}
	if _, err := e.Container(ctx, c.ID()); err != nil {
		t.Fatalf("a held --rm container was removed: %v", err)
	}
	select {
	case r := <-removed:
		t.Fatalf("Wait(UntilRemoved) returned while the container is held: %+v %v", r.st, r.err)
	default:
	}
	release()
	r := <-removed
	if r.err != nil || r.st.Code != 7 {
		t.Fatalf("Wait(UntilRemoved) = %+v, %v; want exit 7", r.st, r.err)
	}
	if _, err := e.Container(ctx, c.ID()); !errors.Is(err, skiff.ErrNotFound) {
		t.Errorf("after Wait(UntilRemoved): %v, want ErrNotFound", err)
	}
	if _, err := other.Hold(); !errors.Is(err, skiff.ErrNotFound) {
		t.Errorf("Hold of a removed container: %v, want ErrNotFound", err)
	}
}

// TestWaitNextExit: waiting for the next exit of an exited container returns the
// exit of its next run, not the one recorded already.
func TestWaitNextExit(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Run n exits n; the second waits for /go, so that the waiter looks either
	// before it starts or while it runs.
	c := startBackground(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Detach: true,
		Cmd: []string{"sh", "-c", `n=$(($(cat /n 2>/dev/null || echo 0)+1)); echo $n > /n; echo run $n
			if [ $n = 2 ]; then while [ ! -e /go ]; do sleep 0.05; done; fi; exit $n`}})
	if st, err := c.Wait(ctx); err != nil || st.Code != 1 {
		t.Fatalf("first run: %+v, %v", st, err)
	}
	other, err := e.Container(ctx, c.ID())
	if err != nil {
		t.Fatal(err)
	}
	if st, err := other.Wait(ctx); err != nil || st.Code != 1 {
		t.Fatalf("Wait of an exited container: %+v, %v; want its exit 1", st, err)
	}
	next := make(chan skiff.ExitStatus, 1)
	go func() {
		st, err := other.Wait(ctx, skiff.UntilNextExit())
		if err != nil {
			t.Error(err)
		}
		next <- st
	}()
	// A follower of the next run (docker start -a) gets its output and ends with it.
	followed := make(chan string, 1)
	since := time.Now()
	go func() {
		var out strings.Builder
		if err := other.Logs(ctx, skiff.LogOptions{Follow: true, NextRun: true, Tail: -1, Since: since}, &out, &out); err != nil {
			t.Error(err)
		}
		followed <- out.String()
	}()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	execIn(t, c, io.Discard, "touch", "/go")
	if st := <-next; st.Code != 2 {
		t.Errorf("Wait(UntilNextExit) = %+v, want the second run's exit 2", st)
	}
	if out := <-followed; out != "run 2\n" {
		t.Errorf("Logs(Follow, NextRun) = %q, want the second run's output", out)
	}
}
