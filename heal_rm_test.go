package skiff_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/internal/testutil"
)

// TestHealRemovesKilledRunRm: a `run --rm` whose process is killed (SIGKILL) between
// its container's creation and start, while its process runs, after it exited, or after
// the exit was recorded but before the removal, leaves a container nobody will reap or
// remove (a foreground container's streams and reaper were the killed process); the
// next pull (heal) must kill what still runs in it and delete it, not merely record it
// as exited.
func TestHealRemovesKilledRunRm(t *testing.T) {
	for _, mode := range []string{"created", "running", "exited", "recorded"} {
		t.Run("killed "+mode, func(t *testing.T) { testHealKilledRunRm(t, mode) })
	}
}

func testHealKilledRunRm(t *testing.T, mode string) {
	e := newEngine(t)
	addr := testutil.StartRegistry(t)
	ref := addr + "/skiff/busybox:latest"
	testutil.PushImage(t, ref, testutil.Busybox(t))
	ctx := context.Background()
	if _, err := e.Pull(ctx, ref); err != nil {
		t.Fatal(err)
	}
	c := exec.Command(os.Args[0], "-test.run=^TestHelperRunRm$")
	names, _ := engineNames.Load(e.Root())
	n := names.([2]string)
	c.Env = append(os.Environ(), "SKIFF_HELPER_ROOT="+e.Root(), "SKIFF_HELPER_IMAGE="+ref,
		"SKIFF_HELPER_CGROUP="+n[0], "SKIFF_HELPER_LINK="+n[1], "SKIFF_HELPER_MODE="+mode)
	out, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.Stderr = os.Stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	// The helper prints the container's ID once it is in the mode asked, then blocks.
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		c.Process.Kill()
		c.Wait()
		t.Fatalf("helper: %v", err)
	}
	id, pidText, _ := strings.Cut(strings.TrimSpace(line), " ")
	c.Process.Kill()
	c.Wait()
	initPid, _ := strconv.Atoi(pidText)
	if _, err := e.Container(ctx, id); err != nil {
		t.Fatalf("the killed run's container %s is gone before any heal: %v", id, err)
	}
	if _, err := e.Pull(ctx, ref); err != nil { // heals first
		t.Fatal(err)
	}
	if _, err := e.Container(ctx, id); !errors.Is(err, skiff.ErrNotFound) {
		t.Errorf("the killed run --rm's container %s is still there after a pull: %v", id, err)
	}
	if initPid > 0 {
		if b, err := os.ReadFile("/proc/" + itoa(initPid) + "/stat"); err == nil && !strings.Contains(string(b), ") Z ") {
			t.Errorf("the killed run's init (pid %d) still runs after the heal: %s", initPid, b)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(e.Root(), "containers", "*")); len(left) > 0 {
		t.Errorf("container dirs left: %v", left)
	}
	checkClean(t, e, "the heal of a killed run --rm")
}

// TestHelperRunRm runs only as TestHealRemovesKilledRunRm's helper process: it creates
// an AutoRemove container and, by SKIFF_HELPER_MODE, leaves it created ("created"),
// starts `sleep 600` ("running"), starts `true` and waits until its process is gone
// without reaping it ("exited"), or reaps it and records the exit as Run would
// ("recorded"). It prints the ID and the init's pid, and blocks until it is killed.
func TestHelperRunRm(t *testing.T) {
	root := os.Getenv("SKIFF_HELPER_ROOT")
	if root == "" {
		t.Skip("helper process of TestHealRemovesKilledRunRm")
	}
	link, mode := os.Getenv("SKIFF_HELPER_LINK"), os.Getenv("SKIFF_HELPER_MODE")
	e, err := skiff.New(skiff.WithRoot(root), skiff.WithCgroupParent(os.Getenv("SKIFF_HELPER_CGROUP")),
		skiff.WithNetworkNames(link, link))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cmd := []string{"true"}
	if mode == "running" {
		cmd = []string{"sleep", "600"}
	}
	c, err := e.Create(ctx, skiff.ContainerConfig{Image: os.Getenv("SKIFF_HELPER_IMAGE"), Network: skiff.NetworkNone,
		Cmd: cmd, AutoRemove: true})
	if err != nil {
		t.Fatal(err)
	}
	pid := c.State().Pid
	if mode != "created" {
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	switch mode {
	case "recorded":
		// Run's Wait records the exit; the removal that would follow never comes.
		if _, err := c.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	case "exited":
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if b, err := os.ReadFile("/proc/" + itoa(pid) + "/stat"); err != nil || strings.Contains(string(b), ") Z ") {
				break // exited (a zombie until this process dies)
			}
		}
	}
	os.Stdout.WriteString(c.ID() + " " + itoa(pid) + "\n")
	time.Sleep(time.Hour)
}
