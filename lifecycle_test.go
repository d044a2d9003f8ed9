package skiff_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skiffrt/skiff"
)

func TestLifecycleTransitions(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	c, err := e.Create(ctx, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Cmd: []string{"sleep", "60"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Delete(ctx, skiff.WithForce())
	want := func(s skiff.Status) {
		t.Helper()
		if got := c.State().Status; got != s {
			t.Fatalf("state %s, want %s", got, s)
		}
	}
	illegal := func(step string, err error) {
		t.Helper()
		var se *skiff.StateError
		if !errors.Is(err, skiff.ErrInvalidState) || !errors.As(err, &se) || !strings.Contains(err.Error(), c.ID()[:12]) {
			t.Errorf("%s: %v, want a StateError naming the container", step, err)
		}
	}
	want(skiff.StatusCreated)
	illegal("pause a created container", c.Pause(ctx))
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	want(skiff.StatusRunning)
	illegal("start a running container", c.Start(ctx))
	illegal("resume a running container", c.Resume(ctx))
	if err := c.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	want(skiff.StatusPaused)
	if b, _ := os.ReadFile("/proc/" + itoa(c.State().Pid) + "/stat"); !bytes.Contains(b, []byte(") S")) && !bytes.Contains(b, []byte(") D")) {
		t.Errorf("paused process state: %s", b)
	}
	illegal("pause a paused container", c.Pause(ctx))
	illegal("exec in a paused container", func() error { _, err := c.Exec(ctx, skiff.ExecConfig{Cmd: []string{"true"}}); return err }())
	if err := c.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	want(skiff.StatusRunning)
	// sleep as PID 1 ignores SIGTERM: Stop escalates to SIGKILL after the timeout.
	start := time.Now()
	if err := c.Stop(ctx, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	want(skiff.StatusExited)
	if st := c.State(); st.ExitCode != 137 || time.Since(start) < 300*time.Millisecond {
		t.Errorf("stop: exit %d after %v, want 137 after the 300ms timeout", st.ExitCode, time.Since(start))
	}
	illegal("pause a stopped container", c.Pause(ctx))
	illegal("resume a stopped container", c.Resume(ctx))
	illegal("kill a stopped container", c.Kill(ctx, syscall.SIGTERM))
	if err := c.Delete(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestStopWithSignalHandler(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	for _, detach := range []bool{false, true} {
		// A detached container's init is the monitor's child: it must inherit no
		// ignored signal dispositions, or the shell could not trap TERM.
		c := startBackground(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Detach: detach,
			Cmd: []string{"sh", "-c", "trap 'exit 3' TERM; while true; do sleep 0.05; done"}})
		time.Sleep(100 * time.Millisecond)
		if err := c.Stop(ctx, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if st := c.State(); st.ExitCode != 3 {
			t.Errorf("stop of a container trapping TERM (detached %v): exit %d, want 3", detach, st.ExitCode)
		}
	}
}

func TestDetachedLogs(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	c := startBackground(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Detach: true,
		Cmd: []string{"sh", "-c", "echo out; echo err >&2; sleep 0.3; echo done; exit 4"}})

	// Follow while it runs: returns when the container exits.
	var out, errs bytes.Buffer
	if err := c.Logs(ctx, skiff.LogOptions{Follow: true, Tail: -1}, &out, &errs); err != nil {
		t.Fatal(err)
	}
	if out.String() != "out\ndone\n" || errs.String() != "err\n" {
		t.Errorf("logs -f: stdout %q stderr %q", out.String(), errs.String())
	}
	st, err := c.Wait(ctx)
	if err != nil || st.Code != 4 {
		t.Errorf("wait for a detached container: %+v %v, want exit 4", st, err)
	}
	out.Reset()
	if err := c.Logs(ctx, skiff.LogOptions{Tail: 1, Timestamps: true}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out.String(), " done\n") || !strings.HasPrefix(out.String(), time.Now().UTC().Format("2006-")) {
		t.Errorf("logs --tail 1 --timestamps: %q", out.String())
	}
}

// TestSecondProcess: a container created and left running by one OS process is seen,
// stopped and removed by another; the creator's exit does not end it.
func TestSecondProcess(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	helper := exec.Command(os.Args[0], "-test.run=^TestHelperCreateDetached$")
	helper.Env = append(os.Environ(), "SKIFF_HELPER_ROOT="+e.Root(), "SKIFF_HELPER_IMAGE="+img)
	if out, err := helper.CombinedOutput(); err != nil {
		t.Fatalf("helper process: %v\n%s", err, out)
	}
	c, err := e.Container(ctx, "made-elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	if st := c.State(); st.Status != skiff.StatusRunning {
		t.Fatalf("container of an exited process: %s, want running", st.Status)
	}
	var out bytes.Buffer
	execIn(t, c, &out, "cat", "/proc/1/cmdline")
	if !strings.Contains(out.String(), "sleep") {
		t.Errorf("exec sees %q as PID 1", out.String())
	}
	if err := c.Stop(ctx, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if st := c.State(); st.Status != skiff.StatusExited || st.ExitCode != 137 {
		t.Errorf("after stop from another process: %+v", st)
	}
	if err := c.Delete(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestHelperCreateDetached runs only as TestSecondProcess's helper process.
func TestHelperCreateDetached(t *testing.T) {
	root := os.Getenv("SKIFF_HELPER_ROOT")
	if root == "" {
		t.Skip("helper process of TestSecondProcess")
	}
	e, err := skiff.New(skiff.WithRoot(root))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := e.Create(ctx, skiff.ContainerConfig{Image: os.Getenv("SKIFF_HELPER_IMAGE"), Name: "made-elsewhere",
		Network: skiff.NetworkNone, Detach: true, Cmd: []string{"sleep", "60"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestInitReapsZombies(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	// The subshell's sleep is orphaned and reparented to PID 1, which here is either
	// "sleep 2" (never reaps) or, with Init, Skiff's init (reaps).
	cmd := []string{"sh", "-c", "(sleep 0.1 &); exec sleep 2"}
	zombies := func(init bool) string {
		c := startBackground(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Init: init, Cmd: cmd})
		time.Sleep(500 * time.Millisecond)
		var out bytes.Buffer
		execIn(t, c, &out, "sh", "-c", "ps -o stat | grep -c '^Z' || true")
		return strings.TrimSpace(out.String())
	}
	if z := zombies(false); z != "1" {
		t.Errorf("without init: %s zombies, want the orphan left as 1", z)
	}
	if z := zombies(true); z != "0" {
		t.Errorf("with init: %s zombies, want 0", z)
	}
}

func TestSecurityDefaults(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	cases := []struct {
		name, cmd, want string
		cfg             skiff.ContainerConfig
	}{
		{"docker's capability set", "grep -E '^Cap(Eff|Bnd)' /proc/self/status", "CapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\n", skiff.ContainerConfig{}},
		{"seccomp blocks unshare", "unshare -n true 2>&1; echo rc=$?", "rc=1", skiff.ContainerConfig{}},
		{"/proc/sys read-only", "echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null; echo rc=$?", "rc=1", skiff.ContainerConfig{}},
		{"/proc/kcore unreadable", "head -c 1 /proc/kcore 2>/dev/null | wc -c", "0", skiff.ContainerConfig{}},
		{"/proc/timer_list masked", "cat /proc/timer_list | wc -c", "0", skiff.ContainerConfig{}},
		{"seccomp filter on", "grep ^Seccomp: /proc/self/status", "Seccomp:\t2", skiff.ContainerConfig{}},
		{"privileged lifts it", "grep ^Seccomp: /proc/self/status", "Seccomp:\t0", skiff.ContainerConfig{Privileged: true}},
		{"cap-drop", "grep CapEff /proc/self/status", "CapEff:\t00000000a80405fb", skiff.ContainerConfig{CapDrop: []string{"NET_RAW"}}},
	}
	for _, tc := range cases {
		cfg := tc.cfg
		cfg.Image, cfg.Network, cfg.Cmd = img, skiff.NetworkNone, []string{"sh", "-c", tc.cmd}
		out, _, _ := run(t, e, cfg)
		if !strings.Contains(out, tc.want) {
			t.Errorf("%s: %q does not contain %q", tc.name, out, tc.want)
		}
	}
}

func TestManyCyclesLeaveNothing(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	fds := func() int { ents, _ := os.ReadDir("/proc/self/fd"); return len(ents) }
	before := fds()
	n := 300
	if testing.Short() {
		n = 30
	}
	for i := range n {
		out, _, st := run(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Cmd: []string{"echo", itoa(i)}})
		if st.Code != 0 || out != itoa(i)+"\n" {
			t.Fatalf("cycle %d: %q exit %d", i, out, st.Code)
		}
	}
	if after := fds(); after > before+2 {
		t.Errorf("open fds grew from %d to %d over %d cycles", before, after, n)
	}
	// newEngine's cleanup checks mounts, cgroups, processes, links and container dirs.
}

func TestStartAgainAndRestart(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	c := startBackground(t, e, skiff.ContainerConfig{Image: img, Name: "again",
		Cmd: []string{"sh", "-c", "echo run >> /runs; wc -l < /runs; hostname; sleep 0.2"}})
	if st, err := c.Wait(ctx); err != nil || st.Code != 0 {
		t.Fatalf("first run: %+v %v", st, err)
	}
	// docker start of an exited container: same root filesystem, same name and network.
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Wait(ctx); err != nil || st.Code != 0 {
		t.Fatalf("second run: %+v %v", st, err)
	}
	var out bytes.Buffer
	if err := c.Logs(ctx, skiff.LogOptions{Tail: -1}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if want := "2\n" + c.ID()[:12] + "\n"; out.String() != want {
		t.Errorf("second run logged %q, want %q (the first run's file kept)", out.String(), want)
	}
	if err := c.Restart(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Wait(ctx); err != nil || st.Code != 0 {
		t.Fatalf("restarted run: %+v %v", st, err)
	}
	out.Reset()
	c.Logs(ctx, skiff.LogOptions{Tail: -1}, &out, &out)
	if !strings.HasPrefix(out.String(), "2\n") || !strings.Contains(out.String(), "3\n") {
		t.Errorf("after restart the log holds %q", out.String())
	}
}

// TestWaitAndFollowEndWhenRemoved: a waiter and a log follower in another handle (as in
// another process) return when the container is deleted under them.
func TestWaitAndFollowEndWhenRemoved(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	c, err := e.Create(ctx, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Detach: true, Cmd: []string{"sleep", "60"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	other, err := e.Container(ctx, c.ID())
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { _, err := other.Wait(ctx); waited <- err }()
	followed := make(chan error, 1)
	go func() { followed <- other.Logs(ctx, skiff.LogOptions{Follow: true, Tail: -1}, io.Discard, io.Discard) }()
	time.Sleep(200 * time.Millisecond)
	if err := c.Delete(ctx, skiff.WithForce()); err != nil {
		t.Fatal(err)
	}
	for name, ch := range map[string]chan error{"wait": waited, "logs -f": followed} {
		select {
		case err := <-ch:
			if name == "wait" && !errors.Is(err, skiff.ErrNotFound) && err != nil {
				t.Errorf("wait on a removed container: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s did not return after the container was removed", name)
		}
	}
}
