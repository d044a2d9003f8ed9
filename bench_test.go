package skiff_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
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

// BenchmarkCreateStartWait is Create, Start and Wait of /bin/true (no network), cold
// and with WithWarmInit; the Delete after each run, and the wait for the next warm
// init, are not timed.
func BenchmarkCreateStartWait(b *testing.B) {
	for _, warm := range []bool{false, true} {
		name := "cold"
		if warm {
			name = "warm"
		}
		b.Run(name, func(b *testing.B) {
			testutil.RequireRoot(b)
			parent, link := testutil.RandomName("skiff-bench-"), testutil.RandomName("skb")
			b.Cleanup(func() {
				dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + parent)
				for _, d := range dirs {
					os.Remove(d)
				}
			})
			opts := []skiff.Option{skiff.WithRoot(b.TempDir()), skiff.WithCgroupParent(parent),
				skiff.WithNetworkNames(link, link), skiff.WithLogger(slog.New(slog.DiscardHandler))}
			if warm {
				opts = append(opts, skiff.WithWarmInit())
			}
			e, err := skiff.New(opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			ctx := context.Background()
			if _, err := e.Images().Write(ctx, "busybox:latest", testutil.Busybox(b)); err != nil {
				b.Fatal(err)
			}
			cfg := skiff.ContainerConfig{Image: "busybox:latest", Network: skiff.NetworkNone, Cmd: []string{"/bin/true"}}
			for b.Loop() {
				if warm {
					b.StopTimer()
					if _, err := e.WarmReady(ctx); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				c, err := e.Create(ctx, cfg)
				if err != nil {
					b.Fatal(err)
				}
				if err := c.Start(ctx); err != nil {
					b.Fatal(err)
				}
				if st, err := c.Wait(ctx); err != nil || st.Code != 0 {
					b.Fatalf("wait: %+v %v", st, err)
				}
				b.StopTimer()
				if err := c.Delete(ctx); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// BenchmarkExec is Container.Exec of /bin/true in a running container until it is
// reaped (docker exec through the library; bench/run.sh times the CLI's).
func BenchmarkExec(b *testing.B) {
	testutil.RequireRoot(b)
	parent := testutil.RandomName("skiff-bench-")
	b.Cleanup(func() {
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + parent)
		for _, d := range dirs {
			os.Remove(d)
		}
	})
	link := testutil.RandomName("skb")
	e, err := skiff.New(skiff.WithRoot(b.TempDir()), skiff.WithCgroupParent(parent),
		skiff.WithNetworkNames(link, link), skiff.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := e.Images().Write(ctx, "busybox:latest", testutil.Busybox(b)); err != nil {
		b.Fatal(err)
	}
	c, err := e.Create(ctx, skiff.ContainerConfig{Image: "busybox:latest", Network: skiff.NetworkNone, Cmd: []string{"sleep", "1000"}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Delete(ctx, skiff.WithForce())
	if err := c.Start(ctx); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		p, err := c.Exec(ctx, skiff.ExecConfig{Cmd: []string{"/bin/true"}})
		if err != nil {
			b.Fatal(err)
		}
		if code, err := p.Wait(); err != nil || code != 0 {
			b.Fatalf("exec: exit %d %v", code, err)
		}
	}
}
