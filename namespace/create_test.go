package namespace_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiffrt/skiff/namespace"
)

func TestEchoHello(t *testing.T) {
	r := runArgs(t, "echo", "hello")
	if r.status.Code != 0 || r.stdout != "hello\n" {
		t.Fatalf("echo hello: status %+v stdout %q stderr %q", r.status, r.stdout, r.stderr)
	}
}

func TestExitCode(t *testing.T) {
	r := runArgs(t, "sh", "-c", "exit 7")
	if r.status != (namespace.ExitStatus{Code: 7}) {
		t.Fatalf("sh -c 'exit 7': status %+v stderr %q", r.status, r.stderr)
	}
}

func TestKilledBySignal(t *testing.T) {
	// PID 1 of a PID namespace only gets SIGKILL (or handled signals) from outside.
	cfg, o, e := newConfig(t, busyboxRootfs(t), "sleep", "100")
	cfg.Spec.Process.Args = []string{"sh", "-c", "echo up; exec sleep 100"}
	p, err := namespace.Create(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Signal(syscall.SIGKILL) })
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	st, err := p.Wait()
	want := namespace.ExitStatus{Code: 128 + int(syscall.SIGKILL), Signal: syscall.SIGKILL}
	if err != nil || st != want {
		t.Fatalf("status %+v %v, want %+v (stdout %q stderr %q)", st, err, want, o, e)
	}
}

func TestKilledBySignalNoPIDNamespace(t *testing.T) {
	// Without a PID namespace the process is not an init and can kill itself.
	cfg, o, e := newConfig(t, busyboxRootfs(t), "sh", "-c", "kill -TERM $$")
	cfg.Spec.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.MountNamespace}}
	r := run(t, cfg, o, e)
	want := namespace.ExitStatus{Code: 128 + int(syscall.SIGTERM), Signal: syscall.SIGTERM}
	if r.status != want {
		t.Fatalf("status %+v, want %+v (stderr %q)", r.status, want, r.stderr)
	}
}

func TestCommandErrors(t *testing.T) {
	root := busyboxRootfs(t)
	if err := os.WriteFile(filepath.Join(root, "bin/notexec"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args    []string
		want    error
		message string
	}{
		{[]string{"nosuchcmd"}, namespace.ErrNotFound, `process.args[0]: "nosuchcmd": executable file not found in $PATH`},
		{[]string{"/bin/nosuch"}, namespace.ErrNotFound, `"/bin/nosuch": no such file or directory`},
		{[]string{"notexec"}, namespace.ErrNotExecutable, `"/bin/notexec": permission denied`},
		{[]string{"/bin"}, namespace.ErrNotExecutable, `"/bin": is a directory`},
	} {
		t.Run(tc.args[0], func(t *testing.T) {
			cfg, _, _ := newConfig(t, root, tc.args...)
			p, err := namespace.Create(context.Background(), cfg)
			if err == nil {
				p.Signal(syscall.SIGKILL)
				p.Wait()
				t.Fatalf("Create %v: no error", tc.args)
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("Create %v: error %q, want %v containing %q", tc.args, err, tc.want, tc.message)
			}
			if _, err := os.Stat(filepath.Join(cfg.StateDir, namespace.FifoName)); err == nil {
				t.Errorf("exec fifo left behind after a failed Create")
			}
		})
	}
}

func TestPIDNamespace(t *testing.T) {
	// "; true" keeps sh from exec'ing ps, so both show up.
	r := runArgs(t, "sh", "-c", "echo pid=$$; ps -o pid,comm; true")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.status.Code != 0 || len(lines) < 2 || lines[0] != "pid=1" {
		t.Fatalf("status %+v stdout %q stderr %q", r.status, r.stdout, r.stderr)
	}
	// ps header, then only sh (pid 1) and ps itself.
	procs := lines[2:]
	if len(procs) != 2 {
		t.Fatalf("ps shows %d processes, want 2 (sh, ps):\n%s", len(procs), r.stdout)
	}
	for _, l := range procs {
		f := strings.Fields(l)
		if f[1] != "sh" && f[1] != "ps" {
			t.Errorf("ps shows a foreign process: %q", l)
		}
	}
}

func TestHostname(t *testing.T) {
	cfg, o, e := newConfig(t, busyboxRootfs(t), "hostname")
	cfg.Spec.Hostname = "skiff-test-host"
	r := run(t, cfg, o, e)
	if r.stdout != "skiff-test-host\n" {
		t.Fatalf("hostname: %q (stderr %q)", r.stdout, r.stderr)
	}
}

func TestSysReadonly(t *testing.T) {
	r := runArgs(t, "sh", "-c", "touch /sys/kernel/x 2>&1; echo rc=$?; grep ' /sys ' /proc/self/mounts")
	if !strings.Contains(r.stdout, "Read-only file system") || !strings.Contains(r.stdout, "rc=1") ||
		!strings.Contains(r.stdout, "sysfs /sys sysfs ro,") {
		t.Fatalf("/sys writable? stdout %q stderr %q", r.stdout, r.stderr)
	}
}

func TestOnlyStdioFds(t *testing.T) {
	// The extra fds of the test binary must not reach the container.
	leak, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer leak.Close()
	r := runArgs(t, "sh", "-c", "ls /proc/1/fd; true")
	if got := strings.Fields(r.stdout); strings.Join(got, " ") != "0 1 2" {
		t.Fatalf("fds of pid 1: %q (stderr %q), want 0 1 2", r.stdout, r.stderr)
	}
}

func TestBeforeInitRunsFirst(t *testing.T) {
	root := busyboxRootfs(t)
	cfg, o, e := newConfig(t, root, "cat", "/tmp/marker")
	cfg.BeforeInit = func(pid int) error {
		// The child has not pivoted yet: its root is still the host's.
		if r, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/root"); err != nil || r != "/" {
			t.Errorf("child root in BeforeInit = %q, %v; want / (not set up yet)", r, err)
		}
		// Right after execve the kernel may briefly show an empty cmdline: look again.
		var cmd []byte
		for i := 0; i < 100 && len(cmd) == 0; i++ {
			if i > 0 {
				time.Sleep(5 * time.Millisecond)
			}
			cmd, _ = os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		}
		if !strings.HasPrefix(string(cmd), "skiff-init") {
			t.Errorf("child cmdline in BeforeInit = %q, want skiff-init", cmd)
		}
		return os.WriteFile(filepath.Join(root, "tmp/marker"), []byte("pid "+strconv.Itoa(pid)+"\n"), 0o644)
	}
	r := run(t, cfg, o, e)
	if r.status.Code != 0 || !strings.HasPrefix(r.stdout, "pid ") {
		t.Fatalf("status %+v stdout %q stderr %q", r.status, r.stdout, r.stderr)
	}
}

func TestBeforeInitError(t *testing.T) {
	cfg, _, _ := newConfig(t, busyboxRootfs(t), "true")
	var child int
	cfg.BeforeInit = func(pid int) error { child = pid; return errors.New("no cgroup for you") }
	_, err := namespace.Create(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "no cgroup for you") {
		t.Fatalf("Create: %v, want the BeforeInit error", err)
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(child)); err == nil {
		t.Errorf("child %d survives a BeforeInit error", child)
	}
}

func TestStartFromAnotherGoroutine(t *testing.T) {
	cfg, o, _ := newConfig(t, busyboxRootfs(t), "echo", "started")
	p, err := namespace.Create(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Signal(syscall.SIGKILL) })
	created := time.Now()
	errc := make(chan error, 1)
	go func() {
		time.Sleep(200 * time.Millisecond)
		// A second handle, as another OS process would get it.
		errc <- namespace.Load(p.Pid, cfg.StateDir).Start()
	}()
	if err := <-errc; err != nil {
		t.Fatalf("Start: %v", err)
	}
	st, err := p.Wait()
	if err != nil || st.Code != 0 || o.String() != "started\n" {
		t.Fatalf("Wait: %+v %v, stdout %q", st, err, o.String())
	}
	if time.Since(created) < 200*time.Millisecond {
		t.Errorf("the command ran before Start")
	}
}

func TestStartAfterInitDied(t *testing.T) {
	cfg, _, _ := newConfig(t, busyboxRootfs(t), "true")
	p, err := namespace.Create(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); !errors.Is(err, namespace.ErrExited) {
		t.Fatalf("Start after kill: %v, want ErrExited", err)
	}
	if st, err := p.Wait(); err != nil || st.Signal != syscall.SIGKILL {
		t.Fatalf("Wait: %+v %v", st, err)
	}
}

func TestCreateCancelled(t *testing.T) {
	cfg, _, _ := newConfig(t, busyboxRootfs(t), "true")
	ctx, cancel := context.WithCancel(context.Background())
	cfg.BeforeInit = func(int) error { cancel(); return nil }
	if _, err := namespace.Create(ctx, cfg); !errors.Is(err, context.Canceled) {
		t.Fatalf("Create with cancelled ctx: %v", err)
	}
}

func TestParallelContainers(t *testing.T) {
	root := busyboxRootfs(t)
	const n = 6
	errc := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			var o bytes.Buffer
			spec := namespace.DefaultSpec(root, "sh", "-c", "hostname")
			spec.Hostname = "c" + strconv.Itoa(i)
			p, err := namespace.Create(context.Background(), &namespace.Config{Spec: spec, StateDir: t.TempDir(), Stdout: &o})
			if err != nil {
				errc <- err
				return
			}
			if err := p.Start(); err != nil {
				errc <- err
				return
			}
			st, err := p.Wait()
			if err == nil && (st.Code != 0 || o.String() != spec.Hostname+"\n") {
				err = fmt.Errorf("container %d: %+v %q", i, st, o.String())
			}
			errc <- err
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
}
