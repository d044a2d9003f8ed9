package skiff_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	digest "github.com/opencontainers/go-digest"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/builder"
	"github.com/skiffrt/skiff/registry"
)

// orphanLayer unpacks a one-file layer that no image references and returns its chain ID.
func orphanLayer(t *testing.T, e *skiff.Engine) digest.Digest {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	data := []byte("orphan\n")
	tw.WriteHeader(&tar.Header{Name: "orphan", Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
	tw.Write(data)
	tw.Close()
	d := digest.Digest(fmt.Sprintf("sha256:%x", sha256.Sum256(buf.Bytes())))
	if err := e.Layers().Unpack(context.Background(), d, d, &buf); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestPruneKeepsWhatContainersUse: GC removes unpacked layers and blobs nothing
// references, keeps the layers a container uses even after its image is gone, and
// collects them once the container is deleted.
func TestPruneKeepsWhatContainersUse(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t)
	img := busybox(t, e)
	unused, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Images().Write(ctx, "unused:v1", unused); err != nil {
		t.Fatal(err)
	}
	orphan := orphanLayer(t, e)
	c, err := e.Create(ctx, skiff.ContainerConfig{Image: img, Cmd: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Delete(context.Background(), skiff.WithForce()) })
	used := c.State().Layers

	// Dangling only: nothing named goes, the orphan layer does.
	rep, err := e.PruneImages(ctx, skiff.PruneImagesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Images) != 0 || !slices.Equal(rep.Layers, []digest.Digest{orphan}) || e.Layers().Has(orphan) {
		t.Errorf("prune: images %v, layers %v; want no image and the orphan layer %s", rep.Images, rep.Layers, orphan)
	}
	// All: the unused image and its blobs go; busybox stays (a container uses it).
	rep, err = e.PruneImages(ctx, skiff.PruneImagesOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Images, []string{"docker.io/library/unused:v1"}) || len(rep.Blobs) != 4 || rep.Reclaimed <= 0 {
		t.Errorf("prune -a: images %v, %d blobs, %d bytes; want unused:v1 and its 4 blobs", rep.Images, len(rep.Blobs), rep.Reclaimed)
	}
	if _, err := e.Image(ctx, img); err != nil {
		t.Errorf("prune -a removed the image a container uses: %v", err)
	}
	// Forced removal of busybox: its blobs go, the container's layers stay.
	if _, err := e.RemoveImage(ctx, img, skiff.RemoveImageOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.PruneImages(ctx, skiff.PruneImagesOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	for _, l := range used {
		if !e.Layers().Has(digestOf(t, l)) {
			t.Errorf("GC removed layer %s of container %s", l, c.ID()[:12])
		}
	}
	if err := c.Start(ctx); err != nil {
		t.Fatalf("start after GC: %v", err)
	}
	c.Wait(ctx)
	// Container deleted: the next prune takes its layers; the root is empty of layers.
	if rep, err := e.PruneContainers(ctx); err != nil || len(rep.Containers) != 1 {
		t.Fatalf("container prune: %+v %v", rep, err)
	}
	rep, err = e.PruneImages(ctx, skiff.PruneImagesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Layers) != len(used) {
		t.Errorf("prune after delete removed %d layers, want %d", len(rep.Layers), len(used))
	}
	if left, _ := e.Layers().List(); len(left) != 0 {
		t.Errorf("layers left: %v", left)
	}
	du, err := e.DiskUsage(ctx)
	if err != nil || du.Images.Total != 0 || du.Containers.Total != 0 || du.Images.Size != 0 {
		t.Errorf("disk usage of an empty root: %+v %v", du, err)
	}
}

// TestPruneBuildCache: pruning the build cache forgets every step (the next build runs
// them again) and keeps the images built before it runnable.
func TestPruneBuildCache(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	if rep, err := e.PruneBuildCache(ctx); err != nil || len(rep.BuildCache) != 0 {
		t.Fatalf("prune of a root that never built: %+v, %v", rep, err)
	}
	var ran int
	build := func(tag string) *registry.Image {
		t.Helper()
		built, err := e.Build(ctx, skiff.BuildOptions{
			ContextDir:        t.TempDir(),
			DockerfileContent: []byte("FROM " + img + "\nRUN echo cached > /f\n"),
			Tags:              []string{tag},
			Network:           skiff.NetworkNone,
			Progress: func(ev skiff.BuildEvent) {
				if ev.Kind == builder.StepDone && !ev.Cached && strings.HasPrefix(ev.Instruction, "RUN") {
					ran++
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		return built
	}
	first := build("cache-test:1")
	build("cache-test:2")
	if ran != 1 {
		t.Fatalf("two builds of one Dockerfile ran the RUN %d times, want once", ran)
	}
	rep, err := e.PruneBuildCache(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.BuildCache) != 1 || rep.Reclaimed <= 0 {
		t.Errorf("prune build cache: %+v; want the RUN step's blob", rep)
	}
	build("cache-test:3")
	if ran != 2 {
		t.Errorf("the build after the prune used the cache (RUN ran %d times in all, want 2)", ran)
	}
	out, _, st := run(t, e, skiff.ContainerConfig{Image: first.ID.String(), Network: skiff.NetworkNone, Cmd: []string{"cat", "/f"}})
	if st.Code != 0 || out != "cached\n" {
		t.Errorf("image built before the prune: %q, exit %d", out, st.Code)
	}
}
