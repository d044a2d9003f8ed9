package skiff_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/internal/testutil"
)

// TestPushToRegistryPullElsewhere pushes an image from one fresh engine root to a local
// docker-registry, pulls it into another fresh root and runs it there.
func TestPushToRegistryPullElsewhere(t *testing.T) {
	ctx := context.Background()
	src := newEngine(t)
	img := busybox(t, src)
	addr := testutil.StartRegistry(t)
	ref := addr + "/skiff/pushed:v1"
	if err := src.Images().Tag(ctx, img, ref); err != nil {
		t.Fatal(err)
	}
	dig, err := src.Push(ctx, ref)
	if err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	local, _ := src.Image(ctx, ref)
	if dig != local.Digest {
		t.Errorf("push returned %s, stored manifest is %s", dig, local.Digest)
	}

	dst := newEngine(t)
	pulled, err := dst.Pull(ctx, ref)
	if err != nil {
		t.Fatalf("pull %s into a fresh root: %v", ref, err)
	}
	if pulled.Digest != dig || pulled.ID != local.ID {
		t.Errorf("pulled %s (ID %s), pushed %s (ID %s)", pulled.Digest, pulled.ID, dig, local.ID)
	}
	out, _, st := run(t, dst, skiff.ContainerConfig{Image: ref, Cmd: []string{"cat", "/etc/motd"}})
	if st.Code != 0 || out == "" {
		t.Errorf("run of the pulled image: exit %d, output %q", st.Code, out)
	}
}

// TestRemoveImageInUse: rmi refuses the last name of an image a container uses, unless
// forced; another name of the image goes without force.
func TestRemoveImageInUse(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t)
	img := busybox(t, e)
	if err := e.Images().Tag(ctx, img, "other:v2"); err != nil {
		t.Fatal(err)
	}
	c, err := e.Create(ctx, skiff.ContainerConfig{Image: img, Cmd: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Delete(context.Background(), skiff.WithForce()) })

	rm, err := e.RemoveImage(ctx, "other:v2", skiff.RemoveImageOptions{})
	if err != nil || len(rm.Untagged) != 1 || rm.Untagged[0] != "docker.io/library/other:v2" || len(rm.Deleted) != 0 {
		t.Fatalf("rmi of one of two names: %+v, %v; want untagged only", rm, err)
	}
	_, err = e.RemoveImage(ctx, img, skiff.RemoveImageOptions{})
	var inUse *skiff.ImageInUseError
	if !errors.Is(err, skiff.ErrImageInUse) || !errors.As(err, &inUse) {
		t.Fatalf("rmi of an image a container uses: %v, want ErrImageInUse", err)
	}
	want := `conflict: unable to remove repository reference "docker.io/library/busybox:latest" (must force) - container ` + c.ID()[:12] + " is using its referenced image"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q\nwant it to contain %q", err, want)
	}
	if _, err := e.Image(ctx, img); err != nil {
		t.Errorf("refused rmi removed the image: %v", err)
	}
	rm, err = e.RemoveImage(ctx, img, skiff.RemoveImageOptions{Force: true})
	if err != nil || len(rm.Deleted) == 0 {
		t.Fatalf("rmi -f: %+v %v", rm, err)
	}
	// The container's layers stay: it still runs.
	for _, l := range c.State().Layers {
		if !e.Layers().Has(digestOf(t, l)) {
			t.Errorf("rmi -f removed layer %s that container %s uses", l, c.ID()[:12])
		}
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Wait(ctx); err != nil || st.Code != 0 {
		t.Errorf("container after rmi -f of its image: %+v %v", st, err)
	}
}
