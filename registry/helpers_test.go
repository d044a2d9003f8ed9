package registry

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/skiffrt/skiff/internal/testutil"
)

// startRegistry serves ggcr's in-process registry on 127.0.0.1 (plain HTTP) and returns its
// "host:port". wrap, if non-nil, wraps the handler (to corrupt blobs and the like).
func startRegistry(t testing.TB, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	var h http.Handler = ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// push writes img to ref with ggcr (the reference registry client).
func push(t testing.TB, ref string, img v1.Image) v1.Hash {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func openStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "images"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// snapshot is index.json plus the sorted list of every file under the layout dir with its
// size, to compare a store before and after a failed operation.
func snapshot(t testing.TB, s *Store) string {
	t.Helper()
	var b strings.Builder
	idx, err := os.ReadFile(filepath.Join(s.Dir(), "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	b.Write(idx)
	b.WriteString("\n")
	var files []string
	err = filepath.WalkDir(s.Dir(), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, _ := d.Info()
			rel, _ := filepath.Rel(s.Dir(), p)
			files = append(files, rel+" "+strconv.FormatInt(fi.Size(), 10))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	b.WriteString(strings.Join(files, "\n"))
	return b.String()
}

// noTemps fails if a temp file is left anywhere in the layout.
func noTemps(t testing.TB, s *Store) {
	t.Helper()
	filepath.WalkDir(s.Dir(), func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), tmpPrefix) {
			t.Errorf("temp file left: %s", p)
		}
		return nil
	})
}

// validateStored reads im back with ggcr's own layout reader and runs validate.Image on it,
// then checks every layer's OpenLayer stream against its DiffID.
func validateStored(t testing.TB, s *Store, im *Image) {
	t.Helper()
	p, err := layout.FromPath(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	h, err := v1.NewHash(im.Digest.String())
	if err != nil {
		t.Fatal(err)
	}
	img, err := p.Image(h)
	if err != nil {
		t.Fatalf("layout image %s: %v", im.Digest, err)
	}
	// validate.Image's full check assumes gzip for every layer (ggcr v0.22.1
	// validate/layer.go); for zstd and uncompressed layers use its fast mode and check the
	// blobs' digests and diffIDs here.
	var opts []validate.Option
	for _, l := range im.Layers {
		if l.MediaType != string(types.OCILayer) && l.MediaType != string(types.DockerLayer) {
			opts = append(opts, validate.Fast)
			break
		}
	}
	if err := validate.Image(img, opts...); err != nil {
		t.Fatalf("validate.Image(%s): %v", im.Name, err)
	}
	for _, l := range im.Layers {
		b, err := os.ReadFile(filepath.Join(s.Dir(), "blobs", "sha256", l.Digest.Encoded()))
		if err != nil {
			t.Fatal(err)
		}
		if got := sha256.Sum256(b); hex.EncodeToString(got[:]) != l.Digest.Encoded() || int64(len(b)) != l.Size {
			t.Errorf("stored blob %s: bad digest or size %d (want %d)", l.Digest, len(b), l.Size)
		}
	}
	for _, l := range im.Layers {
		rc, err := s.OpenLayer(context.Background(), l)
		if err != nil {
			t.Fatal(err)
		}
		hh := sha256.New()
		if _, err := io.Copy(hh, rc); err != nil {
			t.Fatalf("layer %s (%s): %v", l.Digest, l.MediaType, err)
		}
		rc.Close()
		if got := "sha256:" + hex.EncodeToString(hh.Sum(nil)); got != l.DiffID.String() {
			t.Errorf("layer %s (%s): uncompressed digest %s, want diffID %s", l.Digest, l.MediaType, got, l.DiffID)
		}
	}
}

// tarOf makes an uncompressed tar holding the given files.
func tarOf(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(files[n]))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// requireBinary returns the path of a binary, skipping the test when it is missing, or
// failing it when CI=true.
func requireBinary(t testing.TB, bin string) string {
	t.Helper()
	return testutil.RequireBinary(t, bin)
}

func mustRef(t testing.TB, ref string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func remoteWriteIndex(r name.Reference, idx v1.ImageIndex) error {
	return remote.WriteIndex(r, idx)
}

// tarballLayer compresses an uncompressed tar as "gzip" or "zstd" with ggcr.
func tarballLayer(tarBytes []byte, comp string) (v1.Layer, error) {
	opener := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(tarBytes)), nil }
	if comp == "zstd" {
		return tarball.LayerFromOpener(opener, tarball.WithCompression(compression.ZStd), tarball.WithMediaType(types.OCILayerZStd))
	}
	return tarball.LayerFromOpener(opener, tarball.WithMediaType(types.OCILayer))
}

// staticLayer is an uncompressed OCI layer.
func staticLayer(tarBytes []byte) v1.Layer {
	return static.NewLayer(tarBytes, types.OCIUncompressedLayer)
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func appendLayer(img v1.Image, l v1.Layer) (v1.Image, error) { return mutate.AppendLayers(img, l) }

func readFile(p string) (string, error) {
	b, err := os.ReadFile(p)
	return string(b), err
}

// ociImage is a random image with OCI media types throughout (manifest, config, layers).
func ociImage(t testing.TB, layers int) v1.Image {
	t.Helper()
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	for range layers {
		l, err := random.Layer(2048, types.OCILayer)
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
