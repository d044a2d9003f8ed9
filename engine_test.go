package skiff_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/moby/sys/mountinfo"
	digest "github.com/opencontainers/go-digest"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/internal/testutil"
)

func TestMain(m *testing.M) {
	skiff.Init()
	os.Exit(m.Run())
}

// newEngine returns an engine on a fresh root with its own cgroup parent, and checks
// at the end of the test that nothing of it leaked (mounts, cgroups, processes, temp dirs).
func newEngine(t *testing.T) *skiff.Engine {
	t.Helper()
	testutil.RequireRoot(t)
	root := t.TempDir()
	parent := testutil.RandomName("skiff-test-")
	link := testutil.RandomName("skt") // bridge skt<8 hex>; veths are named by the engine
	testutil.CheckLeaks(t, root, testutil.WithCgroupPrefix(parent), testutil.WithLinkPrefix(link))
	t.Cleanup(func() {
		// The engine leaves the (empty) parent cgroup in place for the next container.
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + parent)
		for _, d := range dirs {
			os.Remove(d)
		}
		left, _ := filepath.Glob(filepath.Join(root, "containers", "*"))
		for _, d := range left {
			t.Errorf("leaked container dir %s", d)
		}
	})
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	e, err := skiff.New(skiff.WithRoot(root), skiff.WithCgroupParent(parent),
		skiff.WithNetworkNames(link, link), skiff.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	engineNames.Store(e.Root(), [2]string{parent, link})
	t.Cleanup(func() {
		// Networks (the default bridge included) outlive containers, as Docker's do.
		ctx := context.Background()
		nets, _ := e.Networks().Networks(ctx)
		for _, n := range nets {
			if err := e.Networks().RemoveNetwork(ctx, n.Name); err != nil {
				t.Errorf("remove network %s: %v", n.Name, err)
			}
		}
		// With the last network gone, the engine's nftables table is gone too.
		conn, err := nftables.New()
		if err != nil {
			t.Fatal(err)
		}
		tables, err := conn.ListTablesOfFamily(nftables.TableFamilyIPv4)
		if err != nil {
			t.Fatal(err)
		}
		for _, tb := range tables {
			if tb.Name == link {
				t.Errorf("nftables table ip %s left after every container and network was removed", link)
				conn.DelTable(tb)
				conn.Flush()
			}
		}
	})
	return e
}

// busybox stores the test busybox image in e's store as "busybox:latest".
func busybox(t *testing.T, e *skiff.Engine) string {
	t.Helper()
	const ref = "busybox:latest"
	if _, err := e.Images().Write(context.Background(), ref, testutil.Busybox(t)); err != nil {
		t.Fatal(err)
	}
	return ref
}

// run runs cmd in a fresh container of image and returns stdout, stderr and status.
func run(t *testing.T, e *skiff.Engine, cfg skiff.ContainerConfig) (string, string, skiff.ExitStatus) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cfg.Stdout, cfg.Stderr = &stdout, &stderr
	cfg.AutoRemove = true
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := e.Run(ctx, cfg)
	if err != nil {
		t.Fatalf("run %q: %v (stderr: %s)", cfg.Cmd, err, stderr.String())
	}
	return stdout.String(), stderr.String(), st
}

func TestPullAndRun(t *testing.T) {
	e := newEngine(t)
	addr := testutil.StartRegistry(t)
	ref := addr + "/skiff/busybox:latest"
	testutil.PushImage(t, ref, testutil.Busybox(t))
	ctx := context.Background()

	img, err := e.Pull(ctx, ref)
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	if len(img.Layers) != 3 {
		t.Fatalf("pulled %d layers, want 3", len(img.Layers))
	}

	out, _, st := run(t, e, skiff.ContainerConfig{Image: ref, Cmd: []string{"echo", "hello"}})
	if out != "hello\n" || st.Code != 0 {
		t.Errorf("echo hello: stdout %q, exit %d; want \"hello\\n\", 0", out, st.Code)
	}
	_, _, st = run(t, e, skiff.ContainerConfig{Image: ref, Cmd: []string{"sh", "-c", "exit 7"}})
	if st.Code != 7 {
		t.Errorf("sh -c 'exit 7': exit %d, want 7", st.Code)
	}

	_, err = e.Run(ctx, skiff.ContainerConfig{Image: ref, Cmd: []string{"no-such-command"}, AutoRemove: true})
	if !errors.Is(err, skiff.ErrCommandNotFound) || skiff.ExitCodeOf(err) != 127 {
		t.Errorf("missing command: err %v (exit code %d), want ErrCommandNotFound / 127", err, skiff.ExitCodeOf(err))
	}
	if err != nil && !strings.Contains(err.Error(), "no-such-command") {
		t.Errorf("missing command: error %q does not name the command", err)
	}
	_, err = e.Run(ctx, skiff.ContainerConfig{Image: ref, Cmd: []string{"/etc/motd"}, AutoRemove: true})
	if !errors.Is(err, skiff.ErrCommandNotExecutable) || skiff.ExitCodeOf(err) != 126 {
		t.Errorf("non-executable command: err %v, want ErrCommandNotExecutable / 126", err)
	}
}

func TestPullBadInput(t *testing.T) {
	e := newEngine(t)
	addr := testutil.StartRegistry(t)
	ctx := context.Background()

	ref := addr + "/skiff/busybox:no-such-tag"
	_, err := e.Pull(ctx, ref)
	if err == nil || !strings.Contains(err.Error(), ref) {
		t.Errorf("unknown tag: err %v, want an error naming %s", err, ref)
	}

	down := "127.0.0.1:" + strconv.Itoa(testutil.FreePort(t))
	_, err = e.Pull(ctx, down+"/busybox:latest")
	if err == nil || !strings.Contains(err.Error(), down) {
		t.Errorf("registry down: err %v, want an error naming %s", err, down)
	}
	imgs, err := e.Images().List(ctx)
	if err != nil || len(imgs) != 0 {
		t.Errorf("after failed pulls the store holds %d images (%v), want 0", len(imgs), err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func digestOf(t *testing.T, s string) digest.Digest {
	t.Helper()
	d, err := digest.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestIsolation(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)

	out, _, _ := run(t, e, skiff.ContainerConfig{Image: img, Cmd: []string{"sh", "-c", "echo $$"}})
	if out != "1\n" {
		t.Errorf("pid of the container's process: %q, want 1", out)
	}
	out, _, _ = run(t, e, skiff.ContainerConfig{Image: img, Cmd: []string{"ps", "-o", "pid,comm"}})
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "ps") {
		t.Errorf("ps inside the container sees:\n%s\nwant only itself", out)
	}
	out, _, _ = run(t, e, skiff.ContainerConfig{Image: img, Hostname: "boat", Cmd: []string{"hostname"}})
	if out != "boat\n" {
		t.Errorf("hostname: %q, want boat", out)
	}
	// Layer 3 whites out /tmp/doomed and makes /opt/dir opaque (only c remains).
	out, _, _ = run(t, e, skiff.ContainerConfig{Image: img, Cmd: []string{"sh", "-c", "ls /tmp; ls /opt/dir; cat /etc/motd"}})
	if strings.Contains(out, "doomed") || !strings.Contains(out, "c\n") || strings.Contains(out, "a\n") {
		t.Errorf("whiteouts not applied, container sees:\n%s", out)
	}
	out, _, st := run(t, e, skiff.ContainerConfig{Image: img, Cmd: []string{"sh", "-c", "echo x > /sys/kernel/profiling; echo $?"}})
	if st.Code != 0 || strings.TrimSpace(out) == "0" {
		t.Errorf("/sys is writable from the container (%q)", out)
	}
}

func TestWritesLandInUpperDir(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	c, err := e.Create(ctx, skiff.ContainerConfig{Image: img, Cmd: []string{"sh", "-c", "echo data > /etc/newfile; echo more >> /etc/motd"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Delete(ctx, skiff.WithForce())
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Wait(ctx); err != nil || st.Code != 0 {
		t.Fatalf("wait: %v %+v", err, st)
	}
	upper := filepath.Join(e.Root(), "containers", c.ID(), "upper")
	if b, err := os.ReadFile(filepath.Join(upper, "etc/newfile")); err != nil || string(b) != "data\n" {
		t.Errorf("new file in upper dir: %q %v", b, err)
	}
	for _, l := range c.State().Layers {
		dir := e.Layers().Dir(digestOf(t, l))
		if _, err := os.Stat(filepath.Join(dir, "etc/newfile")); err == nil {
			t.Errorf("the container's write reached the shared layer %s", dir)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "etc/motd")); err == nil && strings.Contains(string(b), "more") {
			t.Errorf("the container's append reached the shared layer %s", dir)
		}
	}
}

func TestSharedLowerDirs(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	var lowers []string
	for range 2 {
		c, err := e.Create(ctx, skiff.ContainerConfig{Image: img, Cmd: []string{"true"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Delete(ctx, skiff.WithForce()) })
		merged := filepath.Join(e.Root(), "containers", c.ID(), "merged")
		ms, err := mountinfo.GetMounts(mountinfo.SingleEntryFilter(merged))
		if err != nil || len(ms) != 1 {
			t.Fatalf("mount of %s: %v %v", merged, ms, err)
		}
		lowers = append(lowers, lowerdirOf(ms[0].VFSOptions))
	}
	if lowers[0] == "" || lowers[0] != lowers[1] {
		t.Errorf("two containers of one image use different lower dirs:\n%s\n%s", lowers[0], lowers[1])
	}
}

func lowerdirOf(opts string) string {
	for _, o := range strings.Split(opts, ",") {
		if v, ok := strings.CutPrefix(o, "lowerdir="); ok {
			return v
		}
	}
	return ""
}

func TestDeleteLeavesNothing(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	c, err := e.Create(ctx, skiff.ContainerConfig{Image: img, Cmd: []string{"sleep", "60"}})
	if err != nil {
		t.Fatal(err)
	}
	pid := c.State().Pid
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx); !errors.Is(err, skiff.ErrInvalidState) {
		t.Errorf("delete of a running container without force: %v, want ErrInvalidState", err)
	}
	if err := c.Delete(ctx, skiff.WithForce()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
		t.Errorf("container process %d still exists after Delete", pid)
	}
	if _, err := e.Container(ctx, c.ID()); !errors.Is(err, skiff.ErrNotFound) {
		t.Errorf("container still found after Delete: %v", err)
	}
}

// execIn runs args in the running container c, output to out, and fails t unless it
// exits 0.
func execIn(t *testing.T, c *skiff.Container, out io.Writer, args ...string) {
	t.Helper()
	p, err := c.Exec(context.Background(), skiff.ExecConfig{Cmd: args, Stdout: out, Stderr: out})
	if err != nil {
		t.Fatalf("exec %q: %v", args, err)
	}
	if code, err := p.Wait(); err != nil || code != 0 {
		t.Fatalf("exec %q: exit %d, %v", args, code, err)
	}
}

// engineNames holds each test engine's cgroup parent and network names (table,
// bridge), for helper processes that open the same root.
var engineNames sync.Map

func cgroupParentOf(t *testing.T, e *skiff.Engine) string {
	v, _ := engineNames.Load(e.Root())
	return v.([2]string)[0]
}

func netNameOf(t *testing.T, e *skiff.Engine) string {
	v, _ := engineNames.Load(e.Root())
	n := v.([2]string)[1]
	return n + "," + n
}

func readDirNames(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names, err
}
