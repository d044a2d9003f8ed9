package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/opencontainers/go-digest"
)

// unpackRecorder is an UnpackFunc that hashes each stream and checks it against the diff ID,
// as overlay.Store.Unpack does.
type unpackRecorder struct {
	mu     sync.Mutex
	chains map[digest.Digest]int
	fail   error
}

func (u *unpackRecorder) fn(ctx context.Context, l Layer, chainID digest.Digest, r io.Reader) error {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return err
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != l.DiffID.String() {
		return errors.New("diff ID mismatch: " + got)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.chains[chainID]++
	return u.fail
}

func TestPullWithUnpack(t *testing.T) {
	ctx := ctxT(t)
	host := startRegistry(t, nil)
	gz, _ := tarballLayer(tarOf(t, map[string]string{"a": "gzip"}), "gzip")
	zs, _ := tarballLayer(tarOf(t, map[string]string{"b": "zstd"}), "zstd")
	plain := staticLayer(tarOf(t, map[string]string{"c": "plain"}))
	img, err := mutate.AppendLayers(ociImage(t, 0), gz, zs, plain, gz) // gz twice: two chain IDs, one blob
	if err != nil {
		t.Fatal(err)
	}
	push(t, host+"/test/app:v1", img)
	s := openStore(t)

	u := &unpackRecorder{chains: map[digest.Digest]int{}}
	im, err := s.Pull(ctx, host+"/test/app:v1", WithUnpack(u.fn))
	if err != nil {
		t.Fatal(err)
	}
	chains := im.ChainIDs()
	if len(u.chains) != 4 {
		t.Fatalf("unpacked %d chain IDs, want 4", len(u.chains))
	}
	for _, c := range chains {
		if u.chains[c] != 1 {
			t.Errorf("chain %s unpacked %d times, want 1", c, u.chains[c])
		}
	}
	// Again with everything stored: the streams come from disk.
	u2 := &unpackRecorder{chains: map[digest.Digest]int{}}
	if _, err := s.Pull(ctx, host+"/test/app:v1", WithUnpack(u2.fn)); err != nil {
		t.Fatal(err)
	}
	if len(u2.chains) != 4 {
		t.Errorf("second pull unpacked %d chain IDs, want 4", len(u2.chains))
	}

	// An unpack failure fails the pull and leaves the store as it was.
	s2 := openStore(t)
	before := snapshot(t, s2)
	u3 := &unpackRecorder{chains: map[digest.Digest]int{}, fail: errors.New("disk full")}
	_, err = s2.Pull(ctx, host+"/test/app:v1", WithUnpack(u3.fn))
	if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), host+"/test/app:v1") {
		t.Fatalf("err %v, want the unpack error naming the reference", err)
	}
	if snapshot(t, s2) != before {
		t.Error("store changed by a failed pull")
	}
	noTemps(t, s2)
}

func TestPullWithUnpackDigestMismatch(t *testing.T) {
	ctx := ctxT(t)
	img := randomImage(t, 2, nil)
	layers, _ := img.Layers()
	bad, _ := layers[0].Digest()
	host := startRegistry(t, corruptBlobs(bad.String()))
	push(t, host+"/test/bad:v1", img)
	s := openStore(t)
	u := &unpackRecorder{chains: map[digest.Digest]int{}}
	_, err := s.Pull(ctx, host+"/test/bad:v1", WithUnpack(u.fn))
	if err == nil {
		t.Fatal("pull of a corrupt blob succeeded")
	}
	// The corrupted gzip stream fails either the unpacker (diff ID) or the digest check;
	// either way the corrupt layer was never accepted.
	for c := range u.chains {
		if c == digest.Digest(mustDiffID(t, layers[0])) {
			t.Errorf("corrupt layer accepted by the unpacker")
		}
	}
}

func mustDiffID(t testing.TB, l v1.Layer) string {
	t.Helper()
	d, err := l.DiffID()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}
