package registry

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/skiffrt/skiff/internal/testutil"
)

// Against Debian's docker-registry (distribution), with the busybox fixture.

func TestDistributionPullMultiArchAndPushMount(t *testing.T) {
	ctx := ctxT(t)
	addr := testutil.StartRegistry(t)
	testutil.PushIndex(t, addr+"/busybox:latest", testutil.BusyboxMultiArch(t))
	s := openStore(t)

	im, err := s.Pull(ctx, addr+"/busybox")
	if err != nil {
		t.Fatal(err)
	}
	if im.Name != addr+"/busybox:latest" || im.Platform.Architecture != runtime.GOARCH || len(im.Layers) < 3 {
		t.Fatalf("pulled %s %s with %d layers", im.Name, im.Platform.String(), len(im.Layers))
	}
	if want, _ := testutil.Busybox(t).Digest(); im.Digest.String() != want.String() {
		t.Errorf("host platform picked %s, want busybox %s", im.Digest, want)
	}
	validateStored(t, s, im)
	if len(im.Config.Config.Cmd) == 0 || im.Config.Config.Cmd[0] != "sh" {
		t.Errorf("config Cmd %v, want [sh]", im.Config.Config.Cmd)
	}

	other := "arm64"
	if runtime.GOARCH == "arm64" {
		other = "amd64"
	}
	oim, err := s.Pull(ctx, addr+"/busybox:latest", WithPlatform(v1.Platform{OS: "linux", Architecture: other}))
	if err != nil {
		t.Fatal(err)
	}
	if oim.Platform.Architecture != other {
		t.Errorf("WithPlatform(%s) gave %s", other, oim.Platform.String())
	}
	_, err = s.Pull(ctx, addr+"/busybox:latest", WithPlatform(v1.Platform{OS: "linux", Architecture: "riscv64"}))
	if !errors.Is(err, ErrPlatformNotFound) || !strings.Contains(err.Error(), "linux/amd64, linux/arm64") {
		t.Errorf("riscv64: %v", err)
	}

	// Push under another repository of the same registry: distribution links blobs per
	// repository, so without a mount every layer would be uploaded (read from the store).
	if _, err := s.Pull(ctx, addr+"/busybox:latest"); err != nil {
		t.Fatal(err)
	}
	dst := addr + "/mirror/busybox:v1"
	if err := s.Tag(ctx, addr+"/busybox:latest", dst); err != nil {
		t.Fatal(err)
	}
	final := map[string]State{}
	d, err := s.Push(ctx, dst, WithProgress(func(p Progress) { final[p.Digest.String()] = p.State }))
	if err != nil {
		t.Fatal(err)
	}
	if d != im.Digest {
		t.Errorf("pushed %s, want %s", d, im.Digest)
	}
	for _, l := range im.Layers {
		if final[l.Digest.String()] != Exists {
			t.Errorf("layer %s ended %v, want exists (mounted, not uploaded)", l.Digest, final[l.Digest.String()])
		}
	}
	rimg, err := remote.Image(mustRef(t, dst))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := rimg.Digest(); got.String() != im.Digest.String() {
		t.Errorf("registry has %s at %s", got, dst)
	}
}

func TestDistributionAuth(t *testing.T) {
	ctx := ctxT(t)
	const user, pass = "alice", "s3cret-pw"
	addr := testutil.StartRegistryAuth(t, user, pass)
	testutil.PushImage(t, addr+"/private/busybox:v1", testutil.Busybox(t), remote.WithAuth(&authn.Basic{Username: user, Password: pass}))
	cfgDir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", cfgDir)
	cfgFile := filepath.Join(cfgDir, "config.json")
	s := openStore(t)
	before := snapshot(t, s)

	// No credentials: refused, naming the registry; store unchanged.
	_, err := s.Pull(ctx, addr+"/private/busybox:v1")
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("anonymous pull: %v, want ErrUnauthorized naming %s", err, addr)
	}
	if after := snapshot(t, s); after != before {
		t.Errorf("store changed by a refused pull")
	}

	// Wrong password: refused, nothing stored.
	err = Login(ctx, addr, user, "wrong")
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("login with a wrong password: %v", err)
	}
	if b, err := os.ReadFile(cfgFile); err == nil && strings.Contains(string(b), addr) {
		t.Fatalf("wrong credentials were stored: %s", b)
	}

	// Right password: stored where docker and the default keychain look.
	if err := Login(ctx, addr, user, pass); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	var cf struct {
		Auths map[string]struct{ Auth string } `json:"auths"`
	}
	if err := json.Unmarshal(b, &cf); err != nil || cf.Auths[addr].Auth == "" {
		t.Fatalf("config.json after login: %s (%v)", b, err)
	}
	im, err := s.Pull(ctx, addr+"/private/busybox:v1")
	if err != nil {
		t.Fatal(err)
	}
	validateStored(t, s, im)
	if err := s.Tag(ctx, im.Name, addr+"/private/copy:v1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Push(ctx, addr+"/private/copy:v1"); err != nil {
		t.Fatal(err)
	}

	// Explicit keychain overrides config.json.
	if _, err := s.Pull(ctx, addr+"/private/busybox:v1", WithKeychain(authn.NewMultiKeychain())); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("empty keychain: %v, want ErrUnauthorized", err)
	}

	if err := Logout(addr); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pull(ctx, addr+"/private/busybox:v1"); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("after logout: %v, want ErrUnauthorized", err)
	}
}
