package namespace_test

import (
	"context"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiffrt/skiff/namespace"
)

// BenchmarkCreateStartWait is the start latency of /bin/true in a busybox rootfs with
// the default spec (mount, pid, uts, ipc, net namespaces; default mounts and masks).
func BenchmarkCreateStartWait(b *testing.B) {
	root := busyboxRootfs(b)
	spec := namespace.DefaultSpec(root, "/bin/true")
	cfg := &namespace.Config{Spec: spec, StateDir: b.TempDir()}
	ctx := context.Background()
	for b.Loop() {
		p, err := namespace.Create(ctx, cfg)
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

// BenchmarkExec is the latency of running /bin/true in a running container
// (docker exec), until it is reaped.
func BenchmarkExec(b *testing.B) {
	root := busyboxRootfs(b)
	cfg := &namespace.Config{Spec: namespace.DefaultSpec(root, "sleep", "1000"), StateDir: b.TempDir()}
	p, err := namespace.Create(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = p.Signal(syscall.SIGKILL); _, _ = p.Wait() }()
	if err := p.Start(); err != nil {
		b.Fatal(err)
	}
	proc := &specs.Process{Args: []string{"/bin/true"}}
	for b.Loop() {
		e, err := namespace.Exec(context.Background(), p.Pid, &namespace.ExecConfig{Process: proc})
		if err != nil {
			b.Fatal(err)
		}
		if st, err := e.Wait(); err != nil || st.Code != 0 {
			b.Fatalf("wait: %+v %v", st, err)
		}
	}
}
