package namespace_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skiffrt/skiff/namespace"
)

// TestWaiter: a process that created a container execve's the init binary as its
// waiter; the waiter logs the container's output as JSON lines, reaps it, removes the
// fifo and execve's the program named, which finds the exit status. All in one pid.
func TestWaiter(t *testing.T) {
	requireRoot(t)
	bin := buildNsinit(t)
	rootfs := busyboxRootfs(t)
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWaiter$", "-test.v")
	cmd.Env = append(os.Environ(), "SKIFF_HELPER_WAITER=create", "SKIFF_HELPER_NSINIT="+bin,
		"SKIFF_HELPER_ROOTFS="+rootfs, "SKIFF_HELPER_DIR="+dir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	c.Env = cmd.Env
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	res, err := os.ReadFile(filepath.Join(dir, "result"))
	if err != nil {
		t.Fatalf("no result from the program the waiter ran: %v\nhelper output:\n%s", err, out)
	}
	var r struct {
		Status, Args, SamePid string
	}
	if err := json.Unmarshal(res, &r); err != nil {
		t.Fatal(err)
	}
	if r.Status != "5/0" || r.SamePid != "true" || r.Args != "finisher" {
		t.Errorf("finisher saw %+v, want status 5/0 in the creator's pid, argv[0] finisher", r)
	}
	logged, err := os.ReadFile(filepath.Join(dir, "container.log"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(logged)), "\n") {
		var e struct {
			Log, Stream string
			Time        time.Time
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.Time.IsZero() {
			t.Fatalf("log line %q: %v", l, err)
		}
		lines = append(lines, e.Stream+":"+e.Log)
	}
	got := strings.Join(lines, "|")
	for _, want := range []string{"stdout:out 1\n", "stdout:out 2\n", "stderr:err 1\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %q: %q", want, got)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, namespace.FifoName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("exec fifo left after the wait: %v", err)
	}
}

// TestHelperWaiter runs only as TestWaiter's helper: first as the creator (which
// becomes the waiter), then as the program the waiter execve's.
func TestHelperWaiter(t *testing.T) {
	dir := os.Getenv("SKIFF_HELPER_DIR")
	switch os.Getenv("SKIFF_HELPER_WAITER") {
	case "":
		t.Skip("helper process of TestWaiter")
	case "finish":
		r := map[string]string{
			"Status": os.Getenv(namespace.WaitStatusEnv),
			"Args":   os.Args[0],
		}
		if pid := os.Getenv("SKIFF_HELPER_PID"); pid != "" {
			r["SamePid"] = "false"
			if pid == strconv.Itoa(os.Getpid()) {
				r["SamePid"] = "true"
			}
		}
		b, _ := json.Marshal(r)
		if err := os.WriteFile(filepath.Join(dir, "result"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err := namespace.SetInitBinary(os.Getenv("SKIFF_HELPER_NSINIT")); err != nil {
		t.Fatal(err)
	}
	spec := namespace.DefaultSpec(os.Getenv("SKIFF_HELPER_ROOTFS"), "sh", "-c", "echo out 1; echo err 1 >&2; sleep 0.2; echo out 2; exit 5")
	var pipes, outs []*os.File
	for range 2 {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		pipes, outs = append(pipes, w), append(outs, r)
	}
	p, err := namespace.Create(context.Background(), &namespace.Config{Spec: spec, StateDir: dir, Stdout: pipes[0], Stderr: pipes[1]})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range pipes {
		w.Close()
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	logf, err := os.OpenFile(filepath.Join(dir, "container.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Open("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"SKIFF_HELPER_WAITER=finish", "SKIFF_HELPER_DIR=" + dir, "SKIFF_HELPER_PID=" + strconv.Itoa(os.Getpid())}
	err = namespace.ExecWaiter(&namespace.Waiter{Pid: p.Pid, Log: logf, Stdout: outs[0], Stderr: outs[1],
		Fifo: filepath.Join(dir, namespace.FifoName), Exe: self,
		Then: []string{"finisher", "-test.run=^TestHelperWaiter$"}, Env: env})
	t.Fatalf("ExecWaiter returned: %v", err)
}

func TestParseWaitStatus(t *testing.T) {
	if st, err := namespace.ParseWaitStatus("137/9"); err != nil || st.Code != 137 || st.Signal != 9 {
		t.Errorf("137/9: %+v %v", st, err)
	}
	if st, err := namespace.ParseWaitStatus("0/0"); err != nil || st.Code != 0 || st.Signal != 0 {
		t.Errorf("0/0: %+v %v", st, err)
	}
	if _, err := namespace.ParseWaitStatus("error: wait for pid 7: no child"); err == nil || !strings.Contains(err.Error(), "no child") {
		t.Errorf("error status: %v", err)
	}
	for _, bad := range []string{"", "7", "a/b", "1/"} {
		if _, err := namespace.ParseWaitStatus(bad); !errors.Is(err, namespace.ErrInvalidSpec) {
			t.Errorf("%q: %v, want ErrInvalidSpec", bad, err)
		}
	}
}
