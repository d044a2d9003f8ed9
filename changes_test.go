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
