package registry

import (
	"errors"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/go-digest"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"busybox":                         "docker.io/library/busybox:latest",
		"busybox:1.36":                    "docker.io/library/busybox:1.36",
		"docker.io/busybox":               "docker.io/library/busybox:latest",
		"index.docker.io/library/busybox": "docker.io/library/busybox:latest",
		"user/app":                        "docker.io/user/app:latest",
		"127.0.0.1:5000/busybox":          "127.0.0.1:5000/busybox:latest",
		"localhost:5000/a/b:v2":           "localhost:5000/a/b:v2",
		"quay.io/x/y@sha256:" + strings.Repeat("a", 64): "quay.io/x/y@sha256:" + strings.Repeat("a", 64),
	} {
		got, err := Normalize(in)
		if err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestWriteImageLookup(t *testing.T) {
	ctx := ctxT(t)
	s := openStore(t)
	img := randomImage(t, 2, &v1.Platform{OS: "linux", Architecture: "amd64"})
	im, err := s.Write(ctx, "busybox", img)
	if err != nil {
		t.Fatal(err)
	}
	if im.Name != "docker.io/library/busybox:latest" {
		t.Fatalf("Name %q", im.Name)
	}
	validateStored(t, s, im)
	other, err := s.Write(ctx, "127.0.0.1:5000/other:v1", randomImage(t, 1, nil))
	if err != nil {
		t.Fatal(err)
	}

	for _, ref := range []string{
		"busybox", "busybox:latest", "docker.io/library/busybox:latest", "library/busybox",
		im.Digest.String(), im.ID.String(), im.ID.Encoded(), im.ShortID(), "sha256:" + im.ShortID(),
		"docker.io/library/busybox@" + im.Digest.String(),
	} {
		got, err := s.Image(ctx, ref)
		if err != nil {
			t.Errorf("Image(%q): %v", ref, err)
			continue
		}
		if got.Digest != im.Digest || got.Name != "docker.io/library/busybox:latest" {
			t.Errorf("Image(%q) = %s %s, want %s", ref, got.Name, got.Digest, im.Digest)
		}
	}
	for _, ref := range []string{"nosuch", "busybox:other", "127.0.0.1:5000/busybox", "sha256:" + strings.Repeat("0", 64), "0000000000ab"} {
		if _, err := s.Image(ctx, ref); !errors.Is(err, ErrImageNotFound) || !strings.Contains(err.Error(), ref) {
			t.Errorf("Image(%q): err %v, want ErrImageNotFound naming it", ref, err)
		}
	}

	// Tag, List, Remove.
	if err := s.Tag(ctx, im.ShortID(), "127.0.0.1:5000/busybox:v2"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Image(ctx, "127.0.0.1:5000/busybox:v2")
	if err != nil || got.Digest != im.Digest {
		t.Fatalf("tagged image: %v %v", got, err)
	}
	if len(got.Names) != 2 {
		t.Errorf("Names %v, want 2", got.Names)
	}
	if err := s.Tag(ctx, "nosuch", "x:y"); !errors.Is(err, ErrImageNotFound) {
		t.Errorf("Tag of missing image: %v", err)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("List: %d, %v", len(list), err)
	}
	if err := s.Remove(ctx, "busybox"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Image(ctx, "busybox"); !errors.Is(err, ErrImageNotFound) {
		t.Errorf("after Remove: %v", err)
	}
	if _, err := s.Image(ctx, "127.0.0.1:5000/busybox:v2"); err != nil {
		t.Errorf("other name removed too: %v", err)
	}
	// By ID: every name of that image goes.
	if err := s.Tag(ctx, other.Name, "again:v1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, other.ShortID()); err != nil {
		t.Fatal(err)
	}
	list, _ = s.List(ctx)
	if len(list) != 1 || list[0].Digest != im.Digest {
		t.Errorf("after Remove by ID: %d images", len(list))
	}
	if err := s.Remove(ctx, "nosuch"); !errors.Is(err, ErrImageNotFound) {
		t.Errorf("Remove missing: %v", err)
	}
}

func TestChainIDs(t *testing.T) {
	im := &Image{Layers: []Layer{{DiffID: digest.Digest("sha256:" + strings.Repeat("a", 64))}, {DiffID: digest.Digest("sha256:" + strings.Repeat("b", 64))}}}
	ids := im.ChainIDs()
	if ids[0] != im.Layers[0].DiffID {
		t.Errorf("chain[0] %s", ids[0])
	}
	// sha256("sha256:aaa… sha256:bbb…"), as the OCI image spec defines it.
	if want := "sha256:" + sha256Hex("sha256:"+strings.Repeat("a", 64)+" sha256:"+strings.Repeat("b", 64)); ids[1].String() != want {
		t.Errorf("chain[1] %s, want %s", ids[1], want)
	}
}

func TestOpenRejectsCorruptIndex(t *testing.T) {
	s := openStore(t)
	if err := writeFileAtomic(s.Dir(), indexFile, []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(s.Dir()); !errors.Is(err, ErrCorruptStore) {
		t.Errorf("Open with a bad index.json: %v, want ErrCorruptStore", err)
	}
}

func TestRemoveRepoAtDigestKeepsOtherRepositories(t *testing.T) {
	ctx := ctxT(t)
	s := openStore(t)
	img := randomImage(t, 1, nil)
	im, err := s.Write(ctx, "example.com/a/app:v1", img)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(ctx, "example.com/a/app:v1", "example.com/b/app:prod"); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, "example.com/a/app@"+im.Digest.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Image(ctx, "example.com/a/app:v1"); !errors.Is(err, ErrImageNotFound) {
		t.Errorf("a/app:v1 after rmi a/app@digest: %v, want gone", err)
	}
	if _, err := s.Image(ctx, "example.com/b/app:prod"); err != nil {
		t.Errorf("b/app:prod after rmi a/app@digest: %v, want kept", err)
	}
}

// TestHistory: steps take the layers in order, empty steps take none, layers no step
// accounts for get a step of their own, and surplus steps get no layer.
func TestHistory(t *testing.T) {
	l := []Layer{{Digest: "sha256:a", Size: 1}, {Digest: "sha256:b", Size: 2}, {Digest: "sha256:c", Size: 3}}
	step := func(by string, empty bool) v1.History { return v1.History{CreatedBy: by, EmptyLayer: empty} }
	for _, tc := range []struct {
		name    string
		history []v1.History
		layers  []Layer
		want    []string // CreatedBy=layer digest or "-"
	}{
		{"matched", []v1.History{step("ADD", false), step("CMD", true), step("RUN", false), step("COPY", false)}, l,
			[]string{"ADD=sha256:a", "CMD=-", "RUN=sha256:b", "COPY=sha256:c"}},
		{"no history", nil, l, []string{"=sha256:a", "=sha256:b", "=sha256:c"}},
		{"short history", []v1.History{step("ADD", false)}, l, []string{"ADD=sha256:a", "=sha256:b", "=sha256:c"}},
		{"long history", []v1.History{step("ADD", false), step("RUN", false)}, l[:1], []string{"ADD=sha256:a", "RUN=-"}},
	} {
		im := &Image{Layers: tc.layers, Config: v1.ConfigFile{History: tc.history}}
		var got []string
		for _, s := range im.History() {
			d := "-"
			if s.Layer != nil {
				d = s.Layer.Digest.String()
			}
			got = append(got, s.CreatedBy+"="+d)
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestFamiliar(t *testing.T) {
	for in, want := range map[string]string{
		"docker.io/library/busybox:latest": "busybox:latest",
		"docker.io/user/app:1":             "user/app:1",
		"docker.io/library/busybox":        "busybox",
		"127.0.0.1:5000/busybox:latest":    "127.0.0.1:5000/busybox:latest",
		"quay.io/docker.io/x:1":            "quay.io/docker.io/x:1",
	} {
		if got := Familiar(in); got != want {
			t.Errorf("Familiar(%q) = %q, want %q", in, got, want)
		}
	}
}
