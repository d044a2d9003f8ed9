package skiff_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
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
