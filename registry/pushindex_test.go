package registry

import (
	"runtime"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/skiffrt/skiff/internal/testutil"
)

// TestPushIndexRoundTrip: two platform images in the store go up as one multi-platform
// image; a fresh store pulls the host's platform by default and the other on request.
func TestPushIndexRoundTrip(t *testing.T) {
	ctx := ctxT(t)
	addr := testutil.StartRegistry(t)
	testutil.PushIndex(t, addr+"/src:latest", testutil.BusyboxMultiArch(t))
	other := "arm64"
	if runtime.GOARCH == "arm64" {
		other = "amd64"
	}
	s := openStore(t)
	host, err := s.Pull(ctx, addr+"/src:latest")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(ctx, addr+"/src:latest", "local/app:host"); err != nil {
		t.Fatal(err)
	}
	foreign, err := s.Pull(ctx, addr+"/src:latest", WithPlatform(v1.Platform{OS: "linux", Architecture: other}))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(ctx, addr+"/src:latest", "local/app:other"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PushIndex(ctx, addr+"/multi:1", []string{"local/app:host", "local/app:host"}); err == nil {
		t.Error("an index with the same platform twice was pushed")
	}
	if _, err := s.PushIndex(ctx, addr+"/multi:1", []string{"local/app:host", "local/app:other"}); err != nil {
		t.Fatal(err)
	}

	fresh := openStore(t)
	got, err := fresh.Pull(ctx, addr+"/multi:1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != host.Digest {
		t.Errorf("default platform pulled %s, want the host image %s", got.Digest, host.Digest)
	}
	got, err = fresh.Pull(ctx, addr+"/multi:1", WithPlatform(v1.Platform{OS: "linux", Architecture: other}))
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != foreign.Digest || got.Platform.Architecture != other {
		t.Errorf("--platform %s pulled %s (%s), want %s", other, got.Digest, got.Platform.String(), foreign.Digest)
	}
	validateStored(t, fresh, got)
}
