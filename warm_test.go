package skiff_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/internal/testutil"
)

// newWarmEngine is newEngine with WithWarmInit, for containers on Network "none"; its
// Close runs before the leak check (which also finds a warm init left as a child).
func newWarmEngine(t testing.TB) (*skiff.Engine, string) {
	t.Helper()
	testutil.RequireRoot(t)
	root := t.TempDir()
	parent := testutil.RandomName("skiff-test-")
	testutil.CheckLeaks(t, root, testutil.WithCgroupPrefix(parent))
	t.Cleanup(func() {
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + parent)
		for _, d := range dirs {
			os.Remove(d)
		}
	})
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	e, err := skiff.New(skiff.WithRoot(root), skiff.WithCgroupParent(parent), skiff.WithLogger(quiet), skiff.WithWarmInit())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, parent
}

func warmReady(t testing.TB, e *skiff.Engine) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pid, err := e.WarmReady(ctx)
	if err != nil {
		t.Fatalf("warm init not ready: %v", err)
	}
	return pid
}

// TestWarmInit: with WithWarmInit a container runs in the pre-started init, with its
// environment, hostname, namespaces and cgroup; a new warm init takes its place, and
// Close reaps the one never used.
func TestWarmInit(t *testing.T) {
	e, parent := newWarmEngine(t)
	if _, err := e.Images().Write(context.Background(), "busybox:latest", testutil.Busybox(t)); err != nil {
		t.Fatal(err)
	}
	warmPid := warmReady(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	c, err := e.Create(ctx, skiff.ContainerConfig{Image: "busybox:latest", Network: skiff.NetworkNone,
		Env: []string{"X=warm-7"}, Hostname: "warmhost", Stdout: &stdout, Stderr: &stderr,
		Cmd: []string{"sh", "-c", `echo "x=$X"; hostname; echo "pid=$$"; readlink /proc/self/ns/net; cat /proc/self/cgroup`}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Delete(context.Background(), skiff.WithForce())
	if pid := c.State().Pid; pid != warmPid {
		t.Errorf("container init pid %d, want the warm init's %d", pid, warmPid)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := c.Wait(ctx)
	if err != nil || st.Code != 0 {
		t.Fatalf("wait: %+v %v (stderr %q)", st, err, stderr.String())
	}
	hostNet, _ := os.Readlink("/proc/self/ns/net")
	out := stdout.String()
	lines := strings.Split(out, "\n")
	if len(lines) < 5 || lines[0] != "x=warm-7" || lines[1] != "warmhost" || lines[2] != "pid=1" ||
		!strings.HasPrefix(lines[3], "net:[") || lines[3] == hostNet {
		t.Errorf("output %q: want x=warm-7, warmhost, pid=1, a net namespace of its own", out)
	}
	if cg := "/" + parent + "/" + c.ID(); !strings.Contains(out, ":memory:"+cg+"\n") && !strings.Contains(out, "0::"+cg+"\n") {
		t.Errorf("/proc/self/cgroup of the container:\n%s\nwant the memory (or unified) cgroup %s", out, cg)
	}
	if err := c.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	next := warmReady(t, e)
	if next == warmPid {
		t.Fatalf("no new warm init after use")
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(next, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("unused warm init %d still exists after Close (kill 0: %v)", next, err)
	}
}

// childOf returns the pid of a child of pid, forked by any of its threads (0 if none
// yet).
func childOf(pid int) int {
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, name := range files {
		b, _ := os.ReadFile(name)
		if f := strings.Fields(string(b)); len(f) > 0 {
			c, _ := strconv.Atoi(f[0])
			return c
		}
	}
	return 0
}

// await polls cond until it returns non-zero.
func await(t *testing.T, what string, cond func() int) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if v := cond(); v != 0 {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWarmInitDetached: after a first detached container, the next one goes to a
// monitor started ahead, into the init that monitor started ahead; its output is
// logged and its exit recorded; Close reaps the monitor and init left unused.
func TestWarmInitDetached(t *testing.T) {
	e, _ := newWarmEngine(t)
	if _, err := e.Images().Write(context.Background(), "busybox:latest", testutil.Busybox(t)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	runDetached := func(word string) (*skiff.Container, skiff.State, skiff.ExitStatus) {
		t.Helper()
		c, err := e.Create(ctx, skiff.ContainerConfig{Image: "busybox:latest", Network: skiff.NetworkNone, Detach: true,
			Env: []string{"W=" + word}, Cmd: []string{"sh", "-c", `echo "w=$W pid=$$"; exit 3`}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Delete(context.Background(), skiff.WithForce()) })
		created := c.State()
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		st, err := c.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return c, created, st
	}
	if _, _, st := runDetached("cold"); st.Code != 3 {
		t.Fatalf("first container: exit %d, want 3", st.Code)
	}
	mon := await(t, "a warm monitor", e.WarmMonitor)
	initPid := await(t, "the warm monitor's init", func() int { return childOf(mon) })
	c, created, st := runDetached("warm")
	if created.Owner != mon || created.Pid != initPid {
		t.Errorf("container monitor %d init %d, want the warm ones %d and %d", created.Owner, created.Pid, mon, initPid)
	}
	if st.Code != 3 {
		t.Errorf("exit %d, want 3", st.Code)
	}
	var out bytes.Buffer
	if err := c.Logs(ctx, skiff.LogOptions{Tail: -1}, &out, &out); err != nil || out.String() != "w=warm pid=1\n" {
		t.Errorf("logs %q %v, want %q", out.String(), err, "w=warm pid=1\n")
	}
	// A warm monitor that died while waiting: the next container gets a cold one.
	dead := await(t, "another warm monitor", e.WarmMonitor)
	if err := syscall.Kill(dead, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	await(t, "the killed monitor reaped", func() int {
		if err := syscall.Kill(dead, 0); errors.Is(err, syscall.ESRCH) {
			return 1
		}
		return 0
	})
	if _, created, st := runDetached("after"); created.Owner == dead || st.Code != 3 {
		t.Errorf("after the warm monitor died: monitor %d (the dead one %d), exit %d", created.Owner, dead, st.Code)
	}
	next := await(t, "another warm monitor", e.WarmMonitor)
	nextInit := await(t, "its init", func() int { return childOf(next) })
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range []int{next, nextInit} {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("warm process %d still exists after Close (kill 0: %v)", pid, err)
		}
	}
}

// TestWarmKilledEngine: when a program with WithWarmInit is killed, its warm init, its
// warm monitor and that monitor's init end with it.
func TestWarmKilledEngine(t *testing.T) {
	if root := os.Getenv("SKIFF_WARM_HELPER_ROOT"); root != "" {
		warmHelper(root, os.Getenv("SKIFF_WARM_HELPER_CGROUP"))
		return
	}
	e, parent := newWarmEngine(t)
	if _, err := e.Images().Write(context.Background(), "busybox:latest", testutil.Busybox(t)); err != nil {
		t.Fatal(err)
	}
	helper := exec.Command(os.Args[0], "-test.run=^TestWarmKilledEngine$")
	helper.Env = append(os.Environ(), "SKIFF_WARM_HELPER_ROOT="+e.Root(), "SKIFF_WARM_HELPER_CGROUP="+parent)
	var stderr bytes.Buffer
	helper.Stderr = &stderr
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { helper.Process.Kill(); helper.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	var pids [3]int
	if n, _ := fmt.Sscanf(line, "warm %d %d %d", &pids[0], &pids[1], &pids[2]); err != nil || n != 3 {
		t.Fatalf("helper: %q %v\n%s", line, err, stderr.String())
	}
	helper.Process.Kill()
	helper.Wait()
	for _, pid := range pids {
		// Gone, or a zombie its new parent (the host's init) has yet to reap.
		await(t, fmt.Sprintf("warm process %d to end with its engine", pid), func() int {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			if _, rest, _ := strings.Cut(string(b), ") "); err != nil || strings.HasPrefix(rest, "Z") {
				return 1
			}
			return 0
		})
	}
	ctx := context.Background()
	c, err := e.Container(ctx, "warm-helper")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx); err != nil {
		t.Fatal(err)
	}
}

// warmHelper is TestWarmKilledEngine's helper process: an engine with WithWarmInit
// that ran one detached container; it prints the pids of its warm init, its warm
// monitor and that monitor's init, then waits to be killed.
func warmHelper(root, parent string) {
	fail := func(err error) { fmt.Println("error", err); os.Exit(1) }
	e, err := skiff.New(skiff.WithRoot(root), skiff.WithCgroupParent(parent), skiff.WithWarmInit(),
		skiff.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fail(err)
	}
	ctx := context.Background()
	c, err := e.Create(ctx, skiff.ContainerConfig{Image: "busybox:latest", Name: "warm-helper", Network: skiff.NetworkNone,
		Detach: true, Cmd: []string{"true"}})
	if err != nil {
		fail(err)
	}
	if err := c.Start(ctx); err != nil {
		fail(err)
	}
	if _, err := c.Wait(ctx); err != nil {
		fail(err)
	}
	initPid, err := e.WarmReady(ctx)
	if err != nil {
		fail(err)
	}
	var mon, monInit int
	for deadline := time.Now().Add(30 * time.Second); mon == 0 || monInit == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			fail(fmt.Errorf("no warm monitor with its init (monitor %d)", mon))
		}
		if mon = e.WarmMonitor(); mon != 0 {
			monInit = childOf(mon)
		}
	}
	fmt.Println("warm", initPid, mon, monInit)
	time.Sleep(time.Minute)
	os.Exit(0)
}
