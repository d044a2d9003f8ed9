package namespace_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skiffrt/skiff/namespace"
)

func TestStopSignalBeforeExecve(t *testing.T) {
	// A SIGTERM that reaches a created container before its command runs is not
	// handled by init's Go runtime (which would exit 2): as pid 1 of its namespace
	// with the default action, the container ignores it, as its shell would.
	cfg, o, e := newConfig(t, busyboxRootfs(t), "sh", "-c", "echo ran")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := namespace.Create(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Signal(syscall.SIGKILL) })
	// The kernel drops these at once only if init does not catch them.
	status, err := os.ReadFile("/proc/" + strconv.Itoa(p.Pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	var caught uint64
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "SigCgt:"); ok {
			if caught, err = strconv.ParseUint(strings.TrimSpace(v), 16, 64); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGUSR1, syscall.SIGUSR2} {
		if caught&(1<<(sig-1)) != 0 {
			t.Errorf("created init catches %v (SigCgt %x): a stop signal before execve would end it", sig, caught)
		}
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		if err := p.Signal(sig); err != nil {
			t.Fatalf("signal %v: %v", sig, err)
		}
	}
	if err := p.Start(); err != nil {
		t.Fatalf("Start: %v (stderr %q)", err, e.String())
	}
	st, err := p.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if st.Code != 0 || strings.TrimSpace(o.String()) != "ran" {
		t.Fatalf("status %+v stdout %q stderr %q, want exit 0 and \"ran\"", st, o.String(), e.String())
	}
}
