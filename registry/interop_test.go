package registry

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// skopeo reads what we write…
func TestSkopeoReadsStore(t *testing.T) {
	skopeo := requireBinary(t, "skopeo")
	ctx := ctxT(t)
	s := openStore(t)
	im, err := s.Write(ctx, "127.0.0.1:5000/interop/app:v1", ociImage(t, 2))
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, skopeo, "inspect", "oci:"+s.Dir()+":"+im.Name).CombinedOutput()
	if err != nil {
		t.Fatalf("skopeo inspect: %v\n%s", err, out)
	}
	var got struct {
		Digest string
		Layers []string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got.Digest != im.Digest.String() || len(got.Layers) != 2 {
		t.Errorf("skopeo sees %s with %d layers, want %s with 2", got.Digest, len(got.Layers), im.Digest)
	}
	// …and copies it out to another layout intact.
	dst := filepath.Join(t.TempDir(), "copy")
	if out, err := exec.CommandContext(ctx, skopeo, "copy", "--quiet", "oci:"+s.Dir()+":"+im.Name, "oci:"+dst+":x").CombinedOutput(); err != nil {
		t.Fatalf("skopeo copy out: %v\n%s", err, out)
	}
}

// …and we read what skopeo writes into the store.
func TestStoreReadsSkopeoWrites(t *testing.T) {
	skopeo := requireBinary(t, "skopeo")
	ctx := ctxT(t)
	src := openStore(t)
	im, err := src.Write(ctx, "src:v1", ociImage(t, 3))
	if err != nil {
		t.Fatal(err)
	}
	dst := openStore(t)
	// Keep an image in dst so skopeo has to add to index.json, not create it.
	if _, err := dst.Write(ctx, "existing:v1", ociImage(t, 1)); err != nil {
		t.Fatal(err)
	}
	name := "docker.io/library/fromskopeo:latest"
	out, err := exec.CommandContext(ctx, skopeo, "copy", "--quiet", "oci:"+src.Dir()+":"+im.Name, "oci:"+dst.Dir()+":"+name).CombinedOutput()
	if err != nil {
		t.Fatalf("skopeo copy in: %v\n%s", err, out)
	}
	got, err := dst.Image(ctx, "fromskopeo")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != im.ID || len(got.Layers) != 3 {
		t.Errorf("read back %s (%d layers), want config %s", got.ID, len(got.Layers), im.ID)
	}
	validateStored(t, dst, got)
	if _, err := dst.Image(ctx, "existing:v1"); err != nil {
		t.Errorf("skopeo lost our entry: %v", err)
	}
}

func TestUmociUnpacksStore(t *testing.T) {
	umoci := requireBinary(t, "umoci")
	ctx := ctxT(t)
	s := openStore(t)
	layer, err := tarballLayer(tarOf(t, map[string]string{"etc/hello": "hi\n"}), "gzip")
	if err != nil {
		t.Fatal(err)
	}
	img := ociImage(t, 1)
	img, err = appendLayer(img, layer)
	if err != nil {
		t.Fatal(err)
	}
	im, err := s.Write(ctx, "127.0.0.1:5000/umoci/app:v1", img)
	if err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(t.TempDir(), "bundle")
	out, err := exec.CommandContext(ctx, umoci, "unpack", "--rootless", "--image", s.Dir()+":"+im.Name, bundle).CombinedOutput()
	if err != nil {
		t.Fatalf("umoci unpack: %v\n%s", err, out)
	}
	b, err := readFile(filepath.Join(bundle, "rootfs", "etc", "hello"))
	if err != nil || strings.TrimSpace(b) != "hi" {
		t.Errorf("unpacked etc/hello = %q, %v", b, err)
	}
}
