package skiff_test

import (
	"context"
	"testing"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/internal/testutil"
)

// BenchmarkRun is the library's start latency: Create, Start, Wait and Delete of
// /bin/true with no network (bench/run.sh compares the CLI with runc and crun).
func BenchmarkRun(b *testing.B) {
	testutil.RequireRoot(b)
	root := b.TempDir()
	e, err := skiff.New(skiff.WithRoot(root), skiff.WithCgroupParent(testutil.RandomName("skiff-bench-")))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := e.Images().Write(ctx, "busybox:latest", testutil.Busybox(b)); err != nil {
		b.Fatal(err)
	}
	cfg := skiff.ContainerConfig{Image: "busybox:latest", Network: skiff.NetworkNone, Cmd: []string{"/bin/true"}, AutoRemove: true}
	for b.Loop() {
		if st, err := e.Run(ctx, cfg); err != nil || st.Code != 0 {
			b.Fatalf("run: %+v %v", st, err)
		}
	}
}
