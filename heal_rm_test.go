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

// TestHealRemovesKilledRunRm: a `run --rm` whose process is killed (SIGKILL) after its
// container started, or after it exited but before its removal, leaves a container
// nobody will remove; the next pull (heal) must delete it, not merely record it as
// exited.
func TestHealRemovesKilledRunRm(t *testing.T) {
	for _, waited := range []bool{false, true} {
		name := "killed while running"
		if waited {
			name = "killed after the exit was recorded"
		}
		t.Run(name, func(t *testing.T) { testHealKilledRunRm(t, waited) })
	}
}

func testHealKilledRunRm(t *testing.T, waited bool) {
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
		"SKIFF_HELPER_CGROUP="+n[0], "SKIFF_HELPER_LINK="+n[1], "SKIFF_HELPER_WAIT="+strconv.FormatBool(waited))
	out, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.Stderr = os.Stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	// The helper prints the container's ID once its process has exited, then blocks.
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		c.Process.Kill()
		c.Wait()
		t.Fatalf("helper: %v", err)
	}
	id := strings.TrimSpace(line)
	c.Process.Kill()
	c.Wait()
	if _, err := e.Container(ctx, id); err != nil {
		t.Fatalf("the killed run's container %s is gone before any heal: %v", id, err)
	}
	if _, err := e.Pull(ctx, ref); err != nil { // heals first
		t.Fatal(err)
	}
	if _, err := e.Container(ctx, id); !errors.Is(err, skiff.ErrNotFound) {
		t.Errorf("the killed run --rm's container %s is still there after a pull: %v", id, err)
	}
	if left, _ := filepath.Glob(filepath.Join(e.Root(), "containers", "*")); len(left) > 0 {
		t.Errorf("container dirs left: %v", left)
	}
	checkClean(t, e, "the heal of a killed run --rm")
}

// TestHelperRunRm runs only as TestHealRemovesKilledRunRm's helper process: it creates
// and starts an AutoRemove container of `true`, waits until its process is gone (without
// reaping it, or with SKIFF_HELPER_WAIT=true reaped and its exit recorded, as Run
// would), prints the ID and blocks until it is killed.
func TestHelperRunRm(t *testing.T) {
	root := os.Getenv("SKIFF_HELPER_ROOT")
	if root == "" {
		t.Skip("helper process of TestHealRemovesKilledRunRm")
	}
	link := os.Getenv("SKIFF_HELPER_LINK")
	e, err := skiff.New(skiff.WithRoot(root), skiff.WithCgroupParent(os.Getenv("SKIFF_HELPER_CGROUP")),
		skiff.WithNetworkNames(link, link))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := e.Create(ctx, skiff.ContainerConfig{Image: os.Getenv("SKIFF_HELPER_IMAGE"), Network: skiff.NetworkNone,
		Cmd: []string{"true"}, AutoRemove: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("SKIFF_HELPER_WAIT") == "true" {
		// Run's Wait records the exit; the removal that would follow never comes.
		if _, err := c.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	} else {
		pid := c.State().Pid
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if b, err := os.ReadFile("/proc/" + itoa(pid) + "/stat"); err != nil || strings.Contains(string(b), ") Z ") {
				break // exited (a zombie until this process dies)
			}
		}
	}
	os.Stdout.WriteString(c.ID() + "\n")
	time.Sleep(time.Hour)
}
