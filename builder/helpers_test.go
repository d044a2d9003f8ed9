package builder_test

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/skiffrt/skiff/builder"
	"github.com/skiffrt/skiff/internal/testutil"
	"github.com/skiffrt/skiff/overlay"
	"github.com/skiffrt/skiff/registry"
)

// chrootRunner runs RUN steps with chroot(2): enough for busybox commands,
// and independent of the engine's containers.
type chrootRunner struct{ runs atomic.Int32 }

func (c *chrootRunner) Run(ctx context.Context, rootfs string, p builder.Process) (int, error) {
	c.runs.Add(1)
	cmd := exec.CommandContext(ctx, p.Args[0], p.Args[1:]...)
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = p.Env, p.WorkingDir, p.Stdout, p.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: rootfs}
	// exec.Command looks the program up on the host; use the shell's path
	// inside the root instead.
	cmd.Path = p.Args[0]
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	return 0, err
}

type env struct {
	b      *builder.Builder
	images *registry.Store
	layers *overlay.Store
	runner *chrootRunner
	root   string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	testutil.RequireRoot(t)
	root := t.TempDir()
	testutil.CheckLeaks(t, root)
	images, err := registry.Open(filepath.Join(root, "images"))
	if err != nil {
		t.Fatal(err)
	}
	layers, err := overlay.NewStore(root)
	if err != nil {
		t.Fatal(err)
	}
	r := &chrootRunner{}
	b, err := builder.New(builder.Config{Images: images, Layers: layers, Runner: r, CacheDir: filepath.Join(root, "build-cache")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := images.Write(context.Background(), "busybox:latest", testutil.Busybox(t)); err != nil {
		t.Fatal(err)
	}
	return &env{b: b, images: images, layers: layers, runner: r, root: root}
}

// writeTree writes files (name → content; a name ending in "/" is a dir).
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// fsEntry is a file of an image's merged filesystem.
type fsEntry struct {
	hdr  *tar.Header
	data string
}

// imageFS merges the layers of img (applying whiteouts) into a map path → entry.
func imageFS(t *testing.T, images *registry.Store, img *registry.Image) map[string]fsEntry {
	t.Helper()
	out := map[string]fsEntry{}
	for _, l := range img.Layers {
		rc, err := images.OpenLayer(context.Background(), l)
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			hdr, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			name := path.Clean("/" + hdr.Name)
			dir, base := path.Split(name)
			if base == ".wh..wh..opq" {
				for k := range out {
					if strings.HasPrefix(k, path.Clean(dir)+"/") {
						delete(out, k)
					}
				}
				continue
			}
			if strings.HasPrefix(base, ".wh.") {
				gone := path.Join(dir, strings.TrimPrefix(base, ".wh."))
				for k := range out {
					if k == gone || strings.HasPrefix(k, gone+"/") {
						delete(out, k)
					}
				}
				continue
			}
			data, _ := io.ReadAll(tr)
			out[name] = fsEntry{hdr: hdr, data: string(data)}
		}
		rc.Close()
	}
	return out
}

func (e *env) build(t *testing.T, dir, dockerfile string, opts builder.Options) (*registry.Image, error) {
	t.Helper()
	opts.ContextDir = dir
	if dockerfile != "" {
		opts.DockerfileContent = []byte(dockerfile)
	}
	return e.b.Build(context.Background(), opts)
}
