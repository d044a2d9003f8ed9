package skiff_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/registry"
)

// TestPruneWaitsForRunningBuild: a prune started during a multi-step build does not
// remove the layers the build has made but not yet named in an image.
func TestPruneWaitsForRunningBuild(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	pruned := make(chan error, 1)
	go func() {
		time.Sleep(500 * time.Millisecond) // the first RUN's layer exists, the second RUN runs
		_, err := e.PruneImages(ctx, true)
		pruned <- err
	}()
	built, err := e.Build(ctx, skiff.BuildOptions{
		ContextDir:        t.TempDir(),
		DockerfileContent: []byte("FROM " + img + "\nRUN echo one > /one\nRUN sleep 1; cat /one > /two\n"),
		Tags:              []string{"gc-test:1"},
		Network:           skiff.NetworkNone,
		NoCache:           true,
	})
	if err != nil {
		t.Fatalf("build during a prune: %v", err)
	}
	if err := <-pruned; err != nil {
		t.Fatal(err)
	}
	out, _, st := run(t, e, skiff.ContainerConfig{Image: built.ID.String(), Network: skiff.NetworkNone, Cmd: []string{"cat", "/two"}})
	if st.Code != 0 || out != "one\n" {
		t.Errorf("image built across a prune: %q, exit %d", out, st.Code)
	}
}

// TestDockerignoreThroughSymlink: an ignored file is not in the context, also when a
// symlink in the context points at it.
func TestDockerignoreThroughSymlink(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	dir := t.TempDir()
	for path, data := range map[string]string{".dockerignore": "secrets\n", "secrets/key": "TOPSECRET\n", "ok.txt": "fine\n"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, path), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("secrets", filepath.Join(dir, "pub")); err != nil {
		t.Fatal(err)
	}
	build := func(copyLine string) (*registry.Image, error) {
		return e.Build(ctx, skiff.BuildOptions{ContextDir: dir, NoCache: true,
			DockerfileContent: []byte("FROM " + img + "\nCOPY ok.txt /ok.txt\n" + copyLine + "\n")})
	}
	if _, err := build("COPY pub/key /k1"); err == nil || !strings.Contains(err.Error(), "pub/key") {
		t.Errorf("COPY of an ignored file through a symlink: %v, want not found", err)
	}
	if _, err := build("COPY pub /d/"); err == nil {
		t.Errorf("COPY of an ignored dir through a symlink succeeded")
	}
	built, err := build("COPY . /ctx/")
	if err != nil {
		t.Fatal(err)
	}
	out, _, _ := run(t, e, skiff.ContainerConfig{Image: built.ID.String(), Network: skiff.NetworkNone,
		Cmd: []string{"sh", "-c", "cat /ctx/ok.txt; cat /ctx/secrets/key /ctx/pub/key 2>&1"}})
	if strings.Contains(out, "TOPSECRET") || !strings.Contains(out, "fine") {
		t.Errorf("COPY . of a context with an ignored dir: %q", out)
	}
}
