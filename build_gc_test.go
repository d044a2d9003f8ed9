package skiff_test

import (
	"context"
	"os"
	"os/exec"
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
		_, err := e.PruneImages(ctx, skiff.PruneImagesOptions{All: true})
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

// TestCheckRepairsKilledBuild: a build killed mid-RUN leaves its step snapshot (still
// mounted) in the build cache; Check reports it and its repair unmounts and removes it.
func TestCheckRepairsKilledBuild(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	helper := exec.Command(os.Args[0], "-test.run=^TestHelperKilledBuild$")
	helper.Env = append(os.Environ(), "SKIFF_HELPER_ROOT="+e.Root(), "SKIFF_HELPER_IMAGE="+img,
		"SKIFF_HELPER_CGROUP="+cgroupParentOf(t, e), "SKIFF_HELPER_NET="+netNameOf(t, e))
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once its RUN step runs (its snapshot is mounted).
	var temps []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && len(temps) == 0; time.Sleep(20 * time.Millisecond) {
		temps, _ = filepath.Glob(filepath.Join(e.Root(), "build-cache", ".tmp-build-*", "merged", "bin"))
	}
	time.Sleep(100 * time.Millisecond)
	helper.Process.Kill()
	helper.Wait()
	if len(temps) == 0 {
		t.Fatal("the helper's build never reached its RUN step")
	}
	// Its RUN container (a child of the killed helper) goes with its cgroup by Check too.
	rep, err := e.Check(ctx, skiff.CheckOptions{Repair: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.BuildTemps) == 0 {
		t.Errorf("check after a killed build: no build temps reported (%+v)", rep)
	}
	if rep, err = e.Check(ctx, skiff.CheckOptions{}); err != nil || !rep.Clean() {
		t.Errorf("check after repair: %+v %v, want clean", rep, err)
	}
}

// TestHelperKilledBuild runs only as TestCheckRepairsKilledBuild's helper process.
func TestHelperKilledBuild(t *testing.T) {
	root := os.Getenv("SKIFF_HELPER_ROOT")
	if root == "" {
		t.Skip("helper process of TestCheckRepairsKilledBuild")
	}
	names := strings.SplitN(os.Getenv("SKIFF_HELPER_NET"), ",", 2)
	e, err := skiff.New(skiff.WithRoot(root), skiff.WithCgroupParent(os.Getenv("SKIFF_HELPER_CGROUP")),
		skiff.WithNetworkNames(names[0], names[1]))
	if err != nil {
		t.Fatal(err)
	}
	e.Build(context.Background(), skiff.BuildOptions{ContextDir: t.TempDir(), Network: skiff.NetworkNone,
		DockerfileContent: []byte("FROM " + os.Getenv("SKIFF_HELPER_IMAGE") + "\nRUN sleep 30\n")})
}
