package skiff_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/skiffrt/skiff"
)

// TestChanges: docker diff of a container that added, changed and removed files of
// its image, with the engine's own mount points left out.
func TestChanges(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	c := startBackground(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Cmd: []string{"sleep", "60"}})
	if got, err := c.Changes(ctx); err != nil || len(got) != 0 {
		t.Fatalf("changes of a fresh container: %v %v, want none", got, err)
	}
	sh(t, c, "mkdir -p /new/sub && echo x > /new/sub/f && echo y >> /etc/motd && rm /etc/passwd")
	got, err := c.Changes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := "[{/etc C} {/etc/motd C} {/etc/passwd D} {/new A} {/new/sub A} {/new/sub/f A}]"
	if s := fmt.Sprint(kinds(got)); s != want {
		t.Errorf("changes: %s, want %s", s, want)
	}
}

type change struct {
	Path string
	Kind string
}

func kinds(cs []skiff.Change) []change {
	out := make([]change, len(cs))
	for i, c := range cs {
		out[i] = change{c.Path, c.Kind.String()}
	}
	return out
}

// TestContainerSize: the writable layer's size grows with what the container writes;
// the virtual size adds the image's layers.
func TestContainerSize(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	c := startBackground(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Cmd: []string{"sleep", "60"}})
	rw0, root0, err := c.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if root0 < rw0+100<<10 {
		t.Errorf("a fresh container: rw %d, rootfs %d; want the image's layers (busybox, > 100 KiB) beyond rw", rw0, root0)
	}
	sh(t, c, "head -c 300000 /dev/urandom > /big")
	rw1, root1, err := c.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rw1-rw0 < 300000 || root1-root0 != rw1-rw0 {
		t.Errorf("after writing 300000 bytes: rw %d → %d, rootfs %d → %d", rw0, rw1, root0, root1)
	}
}
