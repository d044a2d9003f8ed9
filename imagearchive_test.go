package skiff_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/skiffrt/skiff"
)

// TestSaveLoadImages: docker save of one root loads into another and runs there; the
// archive is what docker load reads (manifest.json with RepoTags); bad archives are
// refused with a clear error and leave the store as it was.
func TestSaveLoadImages(t *testing.T) {
	src := newEngine(t)
	img := busybox(t, src)
	ctx := context.Background()
	if err := src.Tag(ctx, img, "saved/box:v1"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := src.SaveImages(ctx, &buf, "saved/box:v1"); err != nil {
		t.Fatal(err)
	}
	var manifest []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	tr := tar.NewReader(bytes.NewReader(buf.Bytes()))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == "manifest.json" {
			if err := json.NewDecoder(tr).Decode(&manifest); err != nil {
				t.Fatal(err)
			}
		}
	}
	want, _ := src.Image(ctx, img)
	if len(manifest) != 1 || len(manifest[0].RepoTags) != 1 || manifest[0].RepoTags[0] != "saved/box:v1" ||
		len(manifest[0].Layers) != len(want.Layers) {
		t.Fatalf("manifest.json = %+v", manifest)
	}

	dst := newEngine(t)
	names, err := dst.LoadImages(ctx, bytes.NewReader(buf.Bytes()))
	if err != nil || len(names) != 1 || names[0] != "saved/box:v1" {
		t.Fatalf("load = %q, %v", names, err)
	}
	got, err := dst.Image(ctx, "saved/box:v1")
	if err != nil || got.ID != want.ID {
		t.Fatalf("loaded image %v, want ID %s: %v", got, want.ID, err)
	}
	out, _, st := run(t, dst, skiff.ContainerConfig{Image: "saved/box:v1", Network: skiff.NetworkNone, Cmd: []string{"echo", "loaded"}})
	if st.Code != 0 || out != "loaded\n" {
		t.Fatalf("run of the loaded image: %q, %+v", out, st)
	}

	before, _ := dst.Images().List(ctx)
	for _, bad := range [][]byte{[]byte("not a tar"), buf.Bytes()[:buf.Len()/2]} {
		if _, err := dst.LoadImages(ctx, bytes.NewReader(bad)); err == nil {
			t.Errorf("load of %d bad bytes succeeded", len(bad))
		} else if !strings.Contains(err.Error(), "load") {
			t.Errorf("load error %q does not say what failed", err)
		}
	}
	after, _ := dst.Images().List(ctx)
	if len(after) != len(before) {
		t.Errorf("a failed load changed the store: %d images, then %d", len(before), len(after))
	}
	// The spool is an unnamed file: nothing of it is ever visible in the root.
	if ents, _ := os.ReadDir(dst.Root()); slices.ContainsFunc(ents, func(d os.DirEntry) bool { return strings.HasPrefix(d.Name(), ".tmp-") }) {
		t.Errorf("temp files left in the root: %v", ents)
	}
	if err := src.SaveImages(ctx, io.Discard, "no/such:image"); err == nil {
		t.Error("save of a missing image succeeded")
	}
}
