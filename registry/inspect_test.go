package registry

import (
	"errors"
	"testing"

	"github.com/skiffrt/skiff/internal/testutil"
)

// Inspect reads an index's platforms and an image's own, stores nothing, and reports a
// missing name as ErrImageNotFound.
func TestInspectRemote(t *testing.T) {
	ctx := ctxT(t)
	addr := testutil.StartRegistry(t)
	testutil.PushIndex(t, addr+"/multi:latest", testutil.BusyboxMultiArch(t))
	testutil.PushImage(t, addr+"/single:latest", testutil.Busybox(t))

	ri, err := Inspect(ctx, addr+"/multi")
	if err != nil {
		t.Fatal(err)
	}
	if ri.Name != addr+"/multi:latest" || len(ri.Platforms) < 2 || ri.Size == 0 || ri.Digest.Validate() != nil {
		t.Fatalf("index inspect = %+v", ri)
	}
	want, _ := testutil.Busybox(t).Digest()
	ri, err = Inspect(ctx, addr+"/single:latest")
	if err != nil {
		t.Fatal(err)
	}
	if ri.Digest.String() != want.String() || len(ri.Platforms) != 1 || ri.Platforms[0].OS != "linux" {
		t.Fatalf("image inspect = %+v, want digest %s", ri, want)
	}
	if _, err := Inspect(ctx, addr+"/nosuch:latest"); !errors.Is(err, ErrImageNotFound) {
		t.Fatalf("inspect of a missing name = %v, want ErrImageNotFound", err)
	}
}
