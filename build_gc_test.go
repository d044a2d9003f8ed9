package skiff_test

import (
	"context"
	"testing"
	"time"

	"github.com/skiffrt/skiff"
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
