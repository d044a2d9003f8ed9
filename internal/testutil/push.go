package testutil

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// PushImage pushes img to ref (e.g. addr+"/busybox:latest" with addr from
// StartRegistry) with ggcr's remote.Write over plain HTTP, and fails the test
// on error. opts are passed to remote.Write after the test's context, e.g.
// remote.WithAuth(&authn.Basic{Username: u, Password: p}). It returns the
// pushed reference by digest (repo@sha256:...).
func PushImage(t testing.TB, ref string, img v1.Image, opts ...remote.Option) name.Digest {
	t.Helper()
	r := parseRef(t, ref)
	if err := remote.Write(r, img, append([]remote.Option{remote.WithContext(t.Context())}, opts...)...); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatalf("push %s: digest: %v", ref, err)
	}
	return r.Context().Digest(d.String())
}

// PushIndex pushes an image index (e.g. BusyboxMultiArch) and the images it
// lists to ref with ggcr's remote.WriteIndex, like PushImage.
func PushIndex(t testing.TB, ref string, idx v1.ImageIndex, opts ...remote.Option) name.Digest {
	t.Helper()
	r := parseRef(t, ref)
	if err := remote.WriteIndex(r, idx, append([]remote.Option{remote.WithContext(t.Context())}, opts...)...); err != nil {
		t.Fatalf("push index %s: %v", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatalf("push index %s: digest: %v", ref, err)
	}
	return r.Context().Digest(d.String())
}

func parseRef(t testing.TB, ref string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatalf("push: reference %q: %v", ref, err)
	}
	return r
}
