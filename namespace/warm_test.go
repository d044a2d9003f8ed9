package namespace_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiffrt/skiff/namespace"
)

func newWarm(t testing.TB, ns []specs.LinuxNamespace, opts ...namespace.WarmOption) *namespace.Warm {
	t.Helper()
	w, err := namespace.NewWarm(ns, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func warmReady(t testing.TB, w *namespace.Warm) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pid, err := w.Ready(ctx)
	if err != nil {
		t.Fatalf("warm init not ready: %v", err)
	}
	return pid
}

// niceOf returns the nice value of pid (field 19 of /proc/PID/stat).
func niceOf(t testing.TB, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	if f := strings.Fields(rest); len(f) > 16 {
		return f[16] // fields from 3 (state) on
	}
	t.Fatalf("/proc/%d/stat: %q", pid, b)
	return ""
}

// awaitExit waits until pid no longer exists (it was reaped).
func awaitExit(t testing.TB, pid int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d still exists", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWarmCreate runs a container in a warm init: it gets the spec's environment,
// hostname and namespaces, BeforeInit sees it, its stdio is the Config's (a Writer
// through a pipe, a file as is, a Reader as stdin), and a new warm init replaces it.
func TestWarmCreate(t *testing.T) {
	root := busyboxRootfs(t)
	w := newWarm(t, namespace.DefaultSpec(root, "true").Linux.Namespaces)
	warmPid := warmReady(t, w)
	// At the lowest priority where it can be raised again: as root of the host.
	if m, _ := os.ReadFile("/proc/self/uid_map"); strings.Fields(string(m))[2] == "4294967295" {
		if n := niceOf(t, warmPid); n != "19" {
			t.Errorf("waiting warm init at nice %s, want 19", n)
		}
	}

	spec := namespace.DefaultSpec(root, "sh", "-c",
		`echo "x=$X"; hostname; echo "pid=$$"; readlink /proc/self/ns/net; cat; echo to-stderr >&2; set -- $(cat /proc/$$/stat); echo "nice=${19}"`)
	spec.Process.Env = append(spec.Process.Env, "X=warm-42")
	spec.Hostname = "warmbox"
	var stdout bytes.Buffer
	errFile, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer errFile.Close()
	beforeInit := 0
	cfg := &namespace.Config{Spec: spec, StateDir: t.TempDir(), Stdout: &stdout, Stderr: errFile,
		Stdin: strings.NewReader("from-stdin\n"), BeforeInit: func(pid int) error { beforeInit = pid; return nil }}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := w.Create(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Signal(syscall.SIGKILL) })
	if p.Pid != warmPid || beforeInit != warmPid {
		t.Errorf("container pid %d, BeforeInit pid %d: want the warm init's %d", p.Pid, beforeInit, warmPid)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	st, err := p.Wait()
	if err != nil || st.Code != 0 {
		t.Fatalf("wait: %+v %v (stdout %q)", st, err, stdout.String())
	}
	hostNet, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 6 || lines[0] != "x=warm-42" || lines[1] != "warmbox" || lines[2] != "pid=1" ||
		!strings.HasPrefix(lines[3], "net:[") || lines[3] == hostNet || lines[4] != "from-stdin" || lines[5] != "nice=0" {
		t.Errorf("stdout %q: want x=warm-42, warmbox, pid=1, a net namespace other than the host's %s, from-stdin, nice=0", stdout.String(), hostNet)
	}
	if b, _ := os.ReadFile(errFile.Name()); string(b) != "to-stderr\n" {
		t.Errorf("stderr file holds %q, want %q", b, "to-stderr\n")
	}
	assertGone(t, p.Pid, root)
	next := warmReady(t, w)
	if next == warmPid {
		t.Errorf("no new warm init after use (pid %d again)", next)
	}
}

// TestWarmFallback: a container whose namespaces differ from the warm init's, or with
// a terminal, runs in a cold init; the next warm init has the namespaces of the last
// container.
func TestWarmFallback(t *testing.T) {
	root := busyboxRootfs(t)
	w := newWarm(t, namespace.DefaultSpec(root, "true").Linux.Namespaces)
	warmPid := warmReady(t, w)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// A terminal: cold, and the warm init stays for the next container.
	tcfg, to, _ := newConfig(t, root, "echo", "on a tty")
	tcfg.Spec.Process.Terminal = true
	tp, err := w.Create(ctx, tcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tp.Signal(syscall.SIGKILL) })
	if err := tp.Start(); err != nil {
		t.Fatal(err)
	}
	if st, err := tp.Wait(); err != nil || st.Code != 0 || tp.Pid == warmPid || !strings.Contains(to.String(), "on a tty") {
		t.Fatalf("terminal container (pid %d, warm %d): %+v %v, output %q", tp.Pid, warmPid, st, err, to)
	}
	if pid := warmReady(t, w); pid != warmPid {
		t.Fatalf("warm init %d replaced by %d after a cold terminal container", warmPid, pid)
	}

	cfg, o, e := newConfig(t, root, "sh", "-c", "readlink /proc/self/ns/net")
	cfg.Spec.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.MountNamespace}, {Type: specs.PIDNamespace}}
	p, err := w.Create(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Signal(syscall.SIGKILL) })
	if p.Pid == warmPid {
		t.Fatalf("a container without a net namespace ran in the warm init made with one")
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if st, err := p.Wait(); err != nil || st.Code != 0 {
		t.Fatalf("wait: %+v %v (stderr %q)", st, err, e)
	}
	hostNet, _ := os.Readlink("/proc/self/ns/net")
	if got := strings.TrimSpace(o.String()); got != hostNet {
		t.Errorf("net namespace %q, want the host's %q", got, hostNet)
	}
	awaitExit(t, warmPid) // the unsuitable one is dropped
	next := warmReady(t, w)
	nextNet, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", next))
	if err != nil || nextNet != hostNet {
		t.Errorf("next warm init %d: net namespace %q %v, want the host's %q (the last container's namespaces)", next, nextNet, err, hostNet)
	}
}

// TestWarmCloseUnused: Close kills and reaps a warm init nobody used.
func TestWarmCloseUnused(t *testing.T) {
	requireRoot(t)
	w := newWarm(t, nil)
	pid := warmReady(t, w)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("warm init %d still exists after Close (kill 0: %v)", pid, err)
	}
	if _, err := w.Ready(context.Background()); !errors.Is(err, namespace.ErrWarmClosed) {
		t.Errorf("Ready after Close: %v, want ErrWarmClosed", err)
	}
}

// TestWarmDiesWithCreator: a warm init whose creator is killed dies too (nothing is
// left to clean up).
func TestWarmDiesWithCreator(t *testing.T) {
	if os.Getenv("SKIFF_WARM_HELPER") == "1" {
		w, err := namespace.NewWarm(nil)
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		pid, err := w.Ready(context.Background())
		fmt.Println(pid, err)
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	requireRoot(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestWarmDiesWithCreator$")
	cmd.Env = append(os.Environ(), "SKIFF_WARM_HELPER=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.Fields(line)[0])
	if err != nil || !strings.HasSuffix(line, "<nil>\n") {
		t.Fatalf("helper: %q", line)
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("warm init %d of the helper: %v", pid, err)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	awaitDead(t, pid) // Pdeathsig
}

// awaitDead waits until pid ended: gone, or a zombie left to a parent that is not
// this process (the host's init, which may reap it later).
func awaitDead(t testing.TB, pid int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return
		}
		if _, rest, ok := strings.Cut(string(b), ") "); ok && strings.HasPrefix(rest, "Z") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d still runs: %s", pid, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkCreateStartWaitWarm is BenchmarkCreateStartWait with a warm init: each
// iteration waits (untimed) for the refill, then times Create, Start and Wait.
func BenchmarkCreateStartWaitWarm(b *testing.B) {
	root := busyboxRootfs(b)
	spec := namespace.DefaultSpec(root, "/bin/true")
	w := newWarm(b, spec.Linux.Namespaces)
	cfg := &namespace.Config{Spec: spec, StateDir: b.TempDir()}
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		warmReady(b, w)
		b.StartTimer()
		p, err := w.Create(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		if err := p.Start(); err != nil {
			b.Fatal(err)
		}
		if st, err := p.Wait(); err != nil || st.Code != 0 {
			b.Fatalf("wait: %+v %v", st, err)
		}
	}
}

// TestWarmDeadFallsBack: a warm init that died while waiting is reaped, and Create
// runs the container in a cold init.
func TestWarmDeadFallsBack(t *testing.T) {
	root := busyboxRootfs(t)
	w := newWarm(t, namespace.DefaultSpec(root, "true").Linux.Namespaces)
	warmPid := warmReady(t, w)
	if err := syscall.Kill(warmPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cfg, o, e := newConfig(t, root, "echo", "cold")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := w.Create(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Signal(syscall.SIGKILL) })
	if p.Pid == warmPid {
		t.Fatalf("container in the killed warm init %d", warmPid)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if st, err := p.Wait(); err != nil || st.Code != 0 || o.String() != "cold\n" {
		t.Fatalf("wait: %+v %v, stdout %q stderr %q", st, err, o, e)
	}
	awaitExit(t, warmPid) // reaped, not left a zombie
}
