package skiff_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/skiffrt/skiff"
)

// TestRename: a renamed container is found by its new name only, resolves by it on its
// network (the neighbours' /etc/hosts are rewritten), and a taken or bad name is refused.
func TestRename(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	createNetwork(t, e, "renet")
	c := startBackground(t, e, skiff.ContainerConfig{Image: img, Name: "before", Network: "renet", Detach: true,
		Cmd: []string{"sh", "-c", webCmd}})
	other := startBackground(t, e, skiff.ContainerConfig{Image: img, Name: "taken", Network: "renet", Detach: true,
		Cmd: []string{"sleep", "300"}})

	if err := c.Rename(ctx, "after"); err != nil {
		t.Fatal(err)
	}
	if got, err := e.Container(ctx, "after"); err != nil || got.ID() != c.ID() || c.Name() != "after" || c.Config().Name != "after" {
		t.Fatalf("lookup by the new name: %v %v (name %q)", got, err, c.Name())
	}
	if _, err := e.Container(ctx, "before"); !errors.Is(err, skiff.ErrNotFound) {
		t.Errorf("the old name still finds it: %v", err)
	}
	if out, code := fetch(t, e, img, "renet", "http://after/index.html"); code != 0 || out != "hi-from-web\n" {
		t.Errorf("wget http://after/ on the network: exit %d %q", code, out)
	}
	if err := c.Rename(ctx, "taken"); !errors.Is(err, skiff.ErrNameInUse) {
		t.Errorf("rename to a taken name: %v", err)
	}
	if err := c.Rename(ctx, "bad/name"); !errors.Is(err, skiff.ErrInvalidConfig) {
		t.Errorf("rename to a bad name: %v", err)
	}
	// A neighbour made before the rename resolves the new name too (its hosts file
	// was rewritten).
	var out bytes.Buffer
	execIn(t, other, &out, "cat", "/etc/hosts")
	if names := strings.Fields(out.String()); !slices.Contains(names, "after") || slices.Contains(names, "before") {
		t.Errorf("the neighbour's /etc/hosts after the rename:\n%s", out.String())
	}
}
