package registry

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/skiffrt/skiff/internal/testutil"
)

// Against Debian's docker-registry with token auth (distribution's `auth: token`, JWTs from
// testutil's in-process token server): ggcr follows the Bearer challenge to the token
// server with the credentials the default keychain finds in config.json.
func TestDistributionTokenAuth(t *testing.T) {
	ctx := ctxT(t)
	const user, pass = "carol", "t0ken-s3cret"
	addr := testutil.StartRegistryToken(t, user, pass)
	basic := remote.WithAuth(&authn.Basic{Username: user, Password: pass})
	testutil.PushImage(t, addr+"/private/busybox:v1", testutil.Busybox(t), basic)
	want, err := testutil.Busybox(t).Digest()
	if err != nil {
		t.Fatal(err)
	}
	cfgDir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", cfgDir)
	cfgFile := filepath.Join(cfgDir, "config.json")
	s := openStore(t)
	before := snapshot(t, s)

	// No credentials: the token server hands out a token granting nothing, the registry
	// refuses it; the error names the registry and the store is unchanged.
	_, err = s.Pull(ctx, addr+"/private/busybox:v1")
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("anonymous pull: %v, want ErrUnauthorized naming %s", err, addr)
	}
	if after := snapshot(t, s); after != before {
		t.Errorf("store changed by a refused pull")
	}

	t.Logf("anonymous: %v", err)
	// Wrong password: the token server answers 401; nothing is written.
	err = Login(ctx, addr, user, "wrong")
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("login with a wrong password: %v, want ErrUnauthorized naming %s", err, addr)
	}
	t.Logf("wrong password: %v", err)
	if b, err := os.ReadFile(cfgFile); err == nil && strings.Contains(string(b), addr) {
		t.Fatalf("wrong credentials were stored: %s", b)
	}

	// Right password: stored in config.json, then pull and push go through the token flow.
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
	if im.Digest.String() != want.String() {
		t.Errorf("pulled %s, want %s", im.Digest, want)
	}
	validateStored(t, s, im)

	// Push to another repository: needs push on it and pull on the source (cross-repo mount).
	dst := addr + "/private/copy:v1"
	if err := s.Tag(ctx, im.Name, dst); err != nil {
		t.Fatal(err)
	}
	d, err := s.Push(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	if d != im.Digest {
		t.Errorf("pushed %s, want %s", d, im.Digest)
	}
	desc, err := remote.Get(mustRef(t, dst), remote.WithContext(ctx), basic)
	if err != nil {
		t.Fatalf("get pushed %s: %v", dst, err)
	}
	if desc.Digest.String() != want.String() {
		t.Errorf("registry has %s at %s, want %s", desc.Digest, dst, want)
	}

	// Logout: the entry is gone and the registry refuses us again.
	if err := Logout(addr); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(cfgFile); err != nil || strings.Contains(string(b), addr) {
		t.Errorf("config.json after logout: %s (%v)", b, err)
	}
	_, err = s.Pull(ctx, addr+"/private/busybox:v1")
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), addr) {
		t.Errorf("pull after logout: %v, want ErrUnauthorized naming %s", err, addr)
	}
	if _, err := s.Push(ctx, dst); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("push after logout: %v, want ErrUnauthorized", err)
	}
}
