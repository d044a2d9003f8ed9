package skiff_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffrt/skiff"
)

// TestConcurrentStartsOfOneContainer: two handles (as two processes) start the same
// exited container at once; exactly one wins, the other is told it is running, and
// the container runs.
func TestConcurrentStartsOfOneContainer(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	c := startBackground(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Detach: true, Cmd: []string{"sleep", "30"}})
	if err := c.Stop(ctx, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		h, err := e.Container(ctx, c.ID())
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = h.Start(ctx) }()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if !errors.Is(err, skiff.ErrInvalidState) {
			t.Errorf("losing start: %v, want ErrInvalidState", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of 2 concurrent starts succeeded (%v), want 1", ok, errs)
	}
	time.Sleep(200 * time.Millisecond)
	if st := c.State(); st.Status != skiff.StatusRunning {
		t.Errorf("after two concurrent starts the container is %s (exit %d), want running", st.Status, st.ExitCode)
	}
}

// TestRestartKeepsLimitsAndRm: a --rm detached container with limits survives a
// restart (not removed by its old monitor) and gets its limits back even when its
// cgroup was removed meanwhile (as a repair after a crash does).
func TestRestartKeepsLimitsAndRm(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	c, err := e.Create(ctx, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Detach: true, AutoRemove: true,
		Cmd: []string{"sleep", "30"}, Resources: skiff.Resources{MemoryLimit: 64 << 20, PidsLimit: 50}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Delete(context.Background(), skiff.WithForce()) })
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Restart(ctx, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	st := c.State()
	if st.Status != skiff.StatusRunning {
		t.Fatalf("after restart of a --rm container: %s", st.Status)
	}
	// Without --rm: stop, lose the cgroup (as a crash repair removes it), start again.
	h, err := e.Create(ctx, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Detach: true,
		Cmd: []string{"sleep", "30"}, Resources: skiff.Resources{PidsLimit: 50}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Delete(context.Background(), skiff.WithForce()) })
	if err := h.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.Stop(ctx, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	st = h.State()
	for _, d := range []string{"pids", "memory", "cpu", "cpuacct", "cpuset", "blkio", "devices", "freezer", "systemd"} {
		os.Remove(filepath.Join("/sys/fs/cgroup", d, st.Cgroup))
	}
	if err := h.Start(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/pids", st.Cgroup, "pids.max"))
	if err != nil || strings.TrimSpace(string(b)) != "50" {
		t.Errorf("pids.max after a start with the cgroup gone = %q (%v), want 50", b, err)
	}
}

func TestNameMayLookLikeAnIDPrefix(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	c, err := e.Create(ctx, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Cmd: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Delete(ctx, skiff.WithForce())
	d, err := e.Create(ctx, skiff.ContainerConfig{Image: img, Name: c.ID()[:3], Network: skiff.NetworkNone, Cmd: []string{"true"}})
	if err != nil {
		t.Fatalf("name %q (a prefix of another container's ID): %v", c.ID()[:3], err)
	}
	defer d.Delete(ctx, skiff.WithForce())
	if _, err := e.Create(ctx, skiff.ContainerConfig{Image: img, Name: c.ID()[:3], Network: skiff.NetworkNone, Cmd: []string{"true"}}); !errors.Is(err, skiff.ErrNameInUse) {
		t.Errorf("the same name twice: %v, want ErrNameInUse", err)
	}
}

func TestRunDetachedCancelled(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := e.Run(ctx, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Detach: true, AutoRemove: true, Cmd: []string{"sleep", "30"}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run of a detached container past its deadline: %v", err)
	}
	// Run and the container's monitor both remove it; the later one may still be at
	// it when Run returns.
	var left []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if left, _ = filepath.Glob(filepath.Join(e.Root(), "containers", "*")); len(left) == 0 {
			break
		}
	}
	if len(left) != 0 {
		t.Errorf("left after a cancelled Run with AutoRemove: %v", left)
	}
}

// TestAnonymousVolumesGoWithTheirContainer: a failed Create and a detached --rm
// container leave no anonymous volume behind; a named one stays.
func TestAnonymousVolumesGoWithTheirContainer(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	anon := skiff.Mount{Type: skiff.MountVolume, Target: "/data"}
	named := skiff.Mount{Type: skiff.MountVolume, Source: "keep", Target: "/keep"}
	_, err := e.Create(ctx, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Mounts: []skiff.Mount{anon}, Cmd: []string{"nosuchcmd"}})
	if !errors.Is(err, skiff.ErrCommandNotFound) {
		t.Fatalf("create with a missing command: %v", err)
	}
	c, err := e.Create(ctx, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Detach: true, AutoRemove: true,
		Mounts: []skiff.Mount{anon, named}, Cmd: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// The monitor removes the container, then its anonymous volumes.
	var vols []*skiff.Volume
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if vols, err = e.Volumes(ctx); err != nil {
			t.Fatal(err)
		}
		if _, cerr := e.Container(ctx, c.ID()); errors.Is(cerr, skiff.ErrNotFound) && len(vols) == 1 {
			break
		}
	}
	if len(vols) != 1 || vols[0].Name != "keep" {
		names := []string{}
		for _, v := range vols {
			names = append(names, v.Name)
		}
		t.Errorf("volumes left: %v, want only the named one", names)
	}
	if err := e.RemoveVolume(ctx, "keep", skiff.RemoveVolumeOptions{}); err != nil {
		t.Fatal(err)
	}
}
