package testutil

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

func TestRegistryPushPull(t *testing.T) {
	CheckLeaks(t, t.TempDir()) // the registry process must be gone before this runs
	addr := StartRegistry(t)
	img := Busybox(t)
	ref := addr + "/busybox:latest"
	PushImage(t, ref, img)

	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(r, remote.WithContext(t.Context()))
	if err != nil {
		t.Fatalf("get %s: %v", ref, err)
	}
	want, _ := img.Digest()
	if desc.Digest != want {
		t.Errorf("pulled digest %s, pushed %s", desc.Digest, want)
	}
	pulled, err := desc.Image()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := pulled.Layers()
	if err != nil || len(layers) != 3 {
		t.Fatalf("pulled layers: %d, %v", len(layers), err)
	}
}

func TestRegistryIndex(t *testing.T) {
	addr := StartRegistry(t)
	idx := BusyboxMultiArch(t)
	d := PushIndex(t, addr+"/multi:latest", idx)
	got, err := remote.Index(d, remote.WithContext(t.Context()))
	if err != nil {
		t.Fatalf("get index %s: %v", d, err)
	}
	im, err := got.IndexManifest()
	if err != nil || len(im.Manifests) != 2 {
		t.Fatalf("index: %v, %v", im, err)
	}
}

func TestRegistryAuth(t *testing.T) {
	addr := StartRegistryAuth(t, "alice", "s3cret")
	ref := addr + "/busybox:auth"
	PushImage(t, ref, Busybox(t), remote.WithAuth(&authn.Basic{Username: "alice", Password: "s3cret"}))

	r, _ := name.ParseReference(ref, name.Insecure)
	_, err := remote.Get(r, remote.WithContext(t.Context()))
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous get: %v, want 401", err)
	}
	if _, err := remote.Get(r, remote.WithContext(t.Context()),
		remote.WithAuth(&authn.Basic{Username: "alice", Password: "s3cret"})); err != nil {
		t.Fatalf("authenticated get: %v", err)
	}
}

func TestRunRegistryBadBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "registry")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho 'listen tcp: address already in use' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := runRegistry(t.Context(), bin, "/nonexistent.yml", "127.0.0.1:1")
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("runRegistry = %v, want the registry's stderr", err)
	}
}
