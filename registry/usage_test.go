package registry

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
)

func TestBlobs(t *testing.T) {
	ctx := ctxT(t)
	s := openStore(t)
	img, err := s.Write(ctx, "usage:v1", randomImage(t, 2, nil))
	if err != nil {
		t.Fatal(err)
	}
	// A write in flight (its temp file) is not a blob.
	if err := os.WriteFile(filepath.Join(s.blobDir(), tmpPrefix+"inflight"), []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := s.Blobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[digest.Digest]bool{img.Digest: true, img.ID: true}
	for _, l := range img.Layers {
		want[l.Digest] = true
	}
	if len(got) != len(want) {
		t.Fatalf("Blobs = %v, want the manifest, the config and 2 layers", got)
	}
	for i, b := range got {
		if !want[b.Digest] {
			t.Errorf("unexpected blob %s", b.Digest)
		}
		fi, err := os.Stat(s.blobPath(b.Digest))
		if err != nil || fi.Size() != b.Size || b.Disk <= 0 {
			t.Errorf("blob %s: size %d, disk %d; file %v, %v", b.Digest, b.Size, b.Disk, fi, err)
		}
		if i > 0 && got[i-1].Digest >= b.Digest {
			t.Errorf("blobs not sorted: %s before %s", got[i-1].Digest, b.Digest)
		}
	}
}
