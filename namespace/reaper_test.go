package namespace_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiffrt/skiff/namespace"
)

// zombies starts a container whose command orphans a short-lived child and then
// execs a process that never reaps, and returns what ps inside shows after the
// orphan exited.
func zombies(t *testing.T, withInit bool) string {
	cfg, _, _ := newConfig(t, busyboxRootfs(t), "sh", "-c", "(sleep 0.1 &); exec sleep 3")
	if withInit {
		cfg.Spec.Annotations = map[string]string{namespace.AnnotationInit: "true"}
	}
	p, err := namespace.Create(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Signal(syscall.SIGKILL); _, _ = p.Wait() })
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(700 * time.Millisecond)
	st, out, errOut := execIn(t, p.Pid, &specs.Process{Args: []string{"ps", "-o", "pid,ppid,stat,comm"}})
	if st.Code != 0 {
		t.Fatalf("ps: %+v %q", st, errOut)
	}
	return out
}

func TestInitReapsZombies(t *testing.T) {
	without := zombies(t, false)
	if !re(`\d+ +1 +Z +sleep`).MatchString(without) {
		t.Errorf("without init the orphan should stay a zombie:\n%s", without)
	}
	with := zombies(t, true)
	if strings.Contains(with, " Z ") || !re(`\n +\d+ +1 +S +sleep`).MatchString(with) || !re(`\n +1 +0 +S +skiff-init`).MatchString(with) {
		t.Errorf("with init the orphan should be reaped and the command be a child of skiff-init:\n%s", with)
	}
}

func TestInitForwardsSignalsAndExitCode(t *testing.T) {
	cfg, o, e := newConfig(t, busyboxRootfs(t), "sh", "-c",
		`trap 'echo got TERM; exit 3' TERM; echo $$ $PPID > /tmp/pid; while true; do sleep 0.05; done`)
	cfg.Spec.Annotations = map[string]string{namespace.AnnotationInit: "true"}
	p, err := namespace.Create(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Signal(syscall.SIGKILL) })
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(cfg.Spec.Root.Path, "tmp/pid")
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if b, _ := os.ReadFile(pidFile); len(b) > 0 {
			break
		}
	}
	if b, _ := os.ReadFile(pidFile); !re(`^\d+ 1\n$`).Match(b) || string(b) == "1 0\n" {
		t.Fatalf("command pid and ppid %q, want a child of pid 1", b)
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	st, err := p.Wait()
	if err != nil || st.Code != 3 || o.String() != "got TERM\n" {
		t.Fatalf("after SIGTERM: %+v %v stdout %q stderr %q", st, err, o.String(), e.String())
	}
}

func TestInitCommandKilledAndNotFound(t *testing.T) {
	cfg, o, e := newConfig(t, busyboxRootfs(t), "sh", "-c", "kill -KILL $$")
	cfg.Spec.Annotations = map[string]string{namespace.AnnotationInit: "true"}
	if r := run(t, cfg, o, e); r.status.Code != 128+9 {
		t.Fatalf("command killed by SIGKILL under init: %+v", r.status)
	}
	var out bytes.Buffer
	cfg, _, _ = newConfig(t, busyboxRootfs(t), "/bin/nosuch")
	cfg.Stdout = &out
	cfg.Spec.Annotations = map[string]string{namespace.AnnotationInit: "true"}
	if _, err := namespace.Create(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("Create of a missing command under init: %v", err)
	}
}
