package testutil

import (
	"archive/tar"
	"errors"
	"io"
	"runtime"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

func TestBusyboxValidates(t *testing.T) {
	img := Busybox(t)
	if err := validate.Image(img); err != nil {
		t.Fatalf("validate: %v", err)
	}
	mt, err := img.MediaType()
	if err != nil || mt != types.OCIManifestSchema1 {
		t.Errorf("media type = %q, %v; want %q", mt, err, types.OCIManifestSchema1)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 3 {
		t.Fatalf("%d layers, want 3", len(layers))
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cf.Config.Cmd, []string{"sh"}) || !slices.Equal(cf.Config.Env, []string{BusyboxEnv}) {
		t.Errorf("config Cmd %q Env %q", cf.Config.Cmd, cf.Config.Env)
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s", cf.OS, cf.Architecture)
	}
	if len(cf.RootFS.DiffIDs) != 3 {
		t.Errorf("%d diff_ids, want 3", len(cf.RootFS.DiffIDs))
	}
}

func TestBusyboxDeterministic(t *testing.T) {
	a := Busybox(t)
	b, err := BuildBusybox(BusyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Fatalf("two builds differ: %s vs %s", da, db)
	}
}

func TestBusyboxLayerContents(t *testing.T) {
	layers, err := Busybox(t).Layers()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"bin/busybox", "bin/sh", "bin/ls", "etc/passwd", "etc/group", "tmp/", "usr/bin/"},
		{"etc/motd", "tmp/doomed", "opt/dir/a", "opt/dir/b"},
		{"tmp/.wh.doomed", "opt/dir/.wh..wh..opq", "opt/dir/c"},
	}
	for i, l := range layers {
		hdrs := layerHeaders(t, l.Uncompressed)
		for _, name := range want[i] {
			if _, ok := hdrs[name]; !ok {
				t.Errorf("layer %d: no %s", i+1, name)
			}
		}
	}
	h := layerHeaders(t, layers[0].Uncompressed)
	if h["tmp/"].Mode != 0o1777 {
		t.Errorf("tmp mode %o, want 1777", h["tmp/"].Mode)
	}
	if h["bin/sh"].Typeflag != tar.TypeSymlink || h["bin/sh"].Linkname != "busybox" {
		t.Errorf("bin/sh: %+v", h["bin/sh"])
	}
}

func layerHeaders(t *testing.T, open func() (io.ReadCloser, error)) map[string]*tar.Header {
	t.Helper()
	rc, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	m := map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return m
		}
		if err != nil {
			t.Fatal(err)
		}
		m[h.Name] = h
	}
}

func TestBusyboxMultiArch(t *testing.T) {
	idx := BusyboxMultiArch(t)
	if err := validate.Index(idx); err != nil {
		t.Fatalf("validate: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var archs []string
	for _, d := range im.Manifests {
		archs = append(archs, d.Platform.Architecture)
	}
	if !slices.Equal(archs, []string{"amd64", "arm64"}) {
		t.Errorf("architectures %q", archs)
	}
}
