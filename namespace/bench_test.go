package namespace_test

import (
	"context"
	"testing"

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
