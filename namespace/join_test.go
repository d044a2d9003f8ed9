package namespace_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiffrt/skiff/namespace"
)

// runningContainer creates and starts args (which should keep running) and kills it
// on cleanup.
func runningContainer(t *testing.T, hostname string, args ...string) (*namespace.Process, *namespace.Config) {
	t.Helper()
	cfg, _, _ := newConfig(t, busyboxRootfs(t), args...)
	cfg.Spec.Hostname = hostname
	p, err := namespace.Create(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.Signal(syscall.SIGKILL)
		_, _ = p.Wait()
		assertGone(t, p.Pid, cfg.Spec.Root.Path)
	})
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	return p, cfg
}

// execIn runs args in the container of init pid and returns its status and output.
func execIn(t *testing.T, pid int, proc *specs.Process) (namespace.ExitStatus, string, string) {
	t.Helper()
	var o, e bytes.Buffer
	p, err := namespace.Exec(context.Background(), pid, &namespace.ExecConfig{Process: proc, Stdout: &o, Stderr: &e})
	if err != nil {
		t.Fatalf("Exec %v: %v", proc.Args, err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	st, err := p.Wait()
	if err != nil {
		t.Fatalf("Wait exec %v: %v", proc.Args, err)
	}
	return st, o.String(), e.String()
}

func nsLinks(t *testing.T) map[string]bool {
	t.Helper()
	links := map[string]bool{}
	tasks, _ := filepath.Glob("/proc/self/task/*/ns/mnt")
	for _, l := range tasks {
		if target, err := os.Readlink(l); err == nil {
			links[target] = true
		}
	}
	return links
}

func hostMnt(t *testing.T) string {
	l, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestExecSeesContainer(t *testing.T) {
	p, cfg := runningContainer(t, "exec-host", "sh", "-c", "echo inside > /tmp/f; exec sleep 100")
	before, host := nsLinks(t), hostMnt(t)
	// Wait for the marker file the container writes.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(cfg.Spec.Root.Path, "tmp/f")); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	st, out, errOut := execIn(t, p.Pid, &specs.Process{
		Args: []string{"sh", "-c", "echo pid=$$; hostname; cat /tmp/f; pwd; id -u; ps -o pid,comm; true"},
		Env:  []string{"PATH=/bin"},
		Cwd:  "/tmp",
		User: specs.User{UID: 1000, GID: 1000},
	})
	if st.Code != 0 {
		t.Fatalf("exec: %+v stdout %q stderr %q", st, out, errOut)
	}
	lines := strings.Split(out, "\n")
	if lines[0] == "pid=1" || lines[1] != "exec-host" || lines[2] != "inside" || lines[3] != "/tmp" || lines[4] != "1000" {
		t.Fatalf("exec does not see the container:\n%s", out)
	}
	if !strings.Contains(out, "    1 sleep") {
		t.Errorf("ps in exec does not show the container's pid 1:\n%s", out)
	}
	// The joining thread died: every thread of the test process is still in the
	// host's mount namespace.
	time.Sleep(20 * time.Millisecond)
	if after := nsLinks(t); len(after) != 1 || len(before) != 1 || !after[host] || hostMnt(t) != host {
		t.Errorf("threads in several mount namespaces: before %v after %v", before, after)
	}
}

func TestExecExitCodeAndErrors(t *testing.T) {
	p, _ := runningContainer(t, "x", "sleep", "100")
	host := hostMnt(t)
	for i := 0; i < 10; i++ { // some of these land on the main thread's goroutine
		st, _, _ := execIn(t, p.Pid, &specs.Process{Args: []string{"sh", "-c", "exit 3"}})
		if st.Code != 3 {
			t.Errorf("exec exit 3: %+v", st)
		}
	}
	if got := hostMnt(t); got != host {
		t.Errorf("after Exec the test process is in mount namespace %s, was %s", got, host)
	}
	_, err := namespace.Exec(context.Background(), p.Pid, &namespace.ExecConfig{Process: &specs.Process{Args: []string{"nosuch"}}})
	if !errors.Is(err, namespace.ErrNotFound) || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("exec nosuch: %v, want ErrNotFound", err)
	}
}

// TestInitExeNotWritableFromContainer is CVE-2019-5736 from inside: a process in the
// container holds the init's exe open (pid 1 before Start), waits for init to exec the
// user command, then tries to write the binary through its fd. The seals stop it.
func TestInitExeNotWritableFromContainer(t *testing.T) {
	cfg, _, _ := newConfig(t, busyboxRootfs(t), "sleep", "2")
	p, err := namespace.Create(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Signal(syscall.SIGKILL); _, _ = p.Wait() })
	var o, e bytes.Buffer
	attacker, err := namespace.Exec(context.Background(), p.Pid, &namespace.ExecConfig{
		Process: &specs.Process{Args: []string{"sh", "-c",
			`exec 3</proc/1/exe; readlink /proc/1/exe; echo >/tmp/ready; sleep 0.5; echo pwned >/proc/self/fd/3; echo rc=$?`}},
		Stdout: &o, Stderr: &e,
	})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(cfg.Spec.Root.Path, "tmp/ready")); err == nil {
			break
		}
	}
	if err := p.Start(); err != nil { // init execs "sleep 2"; the memfd is no longer busy
		t.Fatal(err)
	}
	if _, err := attacker.Wait(); err != nil {
		t.Fatal(err)
	}
	self, _ := os.Readlink("/proc/self/exe")
	sealedView := strings.HasPrefix(o.String(), "/memfd:skiff-init") || strings.HasPrefix(o.String(), "/"+filepath.Base(self)+"\n")
	if !sealedView || !strings.Contains(o.String(), "rc=1") ||
		!(strings.Contains(e.String(), "Operation not permitted") || strings.Contains(e.String(), "Read-only file system")) {
		t.Fatalf("attack on the init binary: stdout %q stderr %q", o.String(), e.String())
	}
}

func TestExecHasContainerSecurity(t *testing.T) {
	p, cfg := runningContainer(t, "sec", "sleep", "100")
	proc := *cfg.Spec.Process
	proc.Args = []string{"sh", "-c", "grep -E '^(Cap|NoNewPrivs|Seccomp:)' /proc/self/status; unshare -m true; echo unshare=$?; ulimit -n"}
	proc.NoNewPrivileges = true
	proc.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 123, Hard: 456}}
	var o, e bytes.Buffer
	x, err := namespace.Exec(context.Background(), p.Pid, &namespace.ExecConfig{Process: &proc, Seccomp: cfg.Spec.Linux.Seccomp, Stdout: &o, Stderr: &e})
	if err != nil {
		t.Fatal(err)
	}
	st, err := x.Wait()
	if err != nil || st.Code != 0 {
		t.Fatalf("exec: %+v %v stderr %q", st, err, e.String())
	}
	fields := statusFields(o.String())
	for k, v := range map[string]string{"CapEff": dockerCaps, "CapPrm": dockerCaps, "CapBnd": dockerCaps,
		"CapInh": "0000000000000000", "NoNewPrivs": "1", "Seccomp": "2"} {
		if fields[k] != v {
			t.Errorf("exec'd process: %s = %q, want %q", k, fields[k], v)
		}
	}
	if !strings.Contains(o.String(), "unshare=1\n123\n") || !strings.Contains(e.String(), "Operation not permitted") {
		t.Errorf("exec'd process: stdout %q stderr %q", o.String(), e.String())
	}
	// Without the container's settings (nil capabilities, no seccomp) it is root with
	// every capability of the host.
	st, out, _ := execIn(t, p.Pid, &specs.Process{Args: []string{"grep", "-E", "^(CapEff|Seccomp):", "/proc/self/status"}})
	host, _ := os.ReadFile("/proc/self/status")
	if st.Code != 0 || statusFields(out)["CapEff"] != statusFields(string(host))["CapEff"] || statusFields(out)["Seccomp"] != "0" {
		t.Errorf("exec without settings: %q", out)
	}
}

func TestExecNonRootAndErrors(t *testing.T) {
	p, cfg := runningContainer(t, "x", "sleep", "100")
	proc := *cfg.Spec.Process
	proc.Args = []string{"grep", "-E", "^(Uid|CapEff):", "/proc/self/status"}
	proc.User = specs.User{UID: 1000, GID: 1000}
	st, out, _ := execIn(t, p.Pid, &proc)
	if f := statusFields(out); st.Code != 0 || f["CapEff"] != "0000000000000000" || !strings.HasPrefix(f["Uid"], "1000") {
		t.Fatalf("non-root exec: %+v %q", st, out)
	}
	proc.Cwd = "/nonexistent"
	_, err := namespace.Exec(context.Background(), p.Pid, &namespace.ExecConfig{Process: &proc})
	if !errors.Is(err, namespace.ErrInit) || !strings.Contains(err.Error(), "process.cwd") {
		t.Fatalf("exec with a missing cwd: %v", err)
	}
	proc.Cwd = "/"
	proc.Capabilities = &specs.LinuxCapabilities{Bounding: []string{"CAP_NOPE"}}
	_, err = namespace.Exec(context.Background(), p.Pid, &namespace.ExecConfig{Process: &proc})
	if !errors.Is(err, namespace.ErrInvalidSpec) || !strings.Contains(err.Error(), `process.capabilities.bounding[0]: unknown capability "CAP_NOPE"`) {
		t.Fatalf("exec with a bad capability: %v", err)
	}
}
