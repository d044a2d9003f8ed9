package registry

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func randomImage(t testing.TB, layers int64, p *v1.Platform) v1.Image {
	t.Helper()
	img, err := random.Image(2048, layers)
	if err != nil {
		t.Fatal(err)
	}
	if p != nil {
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
	}
	return img
}

func TestPullByTagAndDigest(t *testing.T) {
	ctx := ctxT(t)
	host := startRegistry(t, nil)
	img := randomImage(t, 3, &v1.Platform{OS: "linux", Architecture: "amd64"})
	want := push(t, host+"/test/app:v1", img)
	s := openStore(t)

	var mu sync.Mutex
	states := map[string][]State{}
	im, err := s.Pull(ctx, host+"/test/app:v1", WithProgress(func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		states[p.Digest.String()] = append(states[p.Digest.String()], p.State)
	}))
	if err != nil {
		t.Fatal(err)
	}
	if im.Name != host+"/test/app:v1" || im.Digest.String() != want.String() || len(im.Layers) != 3 {
		t.Fatalf("pulled %+v, want %s@%s with 3 layers", im, host+"/test/app:v1", want)
	}
	cfgName, _ := img.ConfigName()
	if im.ID.String() != cfgName.String() {
		t.Errorf("ID %s, want config digest %s", im.ID, cfgName)
	}
	validateStored(t, s, im)
	noTemps(t, s)
	for _, l := range im.Layers {
		st := states[l.Digest.String()]
		if len(st) < 2 || st[0] != Waiting || st[len(st)-1] != Done {
			t.Errorf("layer %s progress states %v, want waiting … done", l.Digest, st)
		}
	}

	// By digest: same manifest, stored under the digest reference; layers already there.
	states = map[string][]State{}
	dref := host + "/test/app@" + want.String()
	im2, err := s.Pull(ctx, dref, WithProgress(func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		states[p.Digest.String()] = append(states[p.Digest.String()], p.State)
	}))
	if err != nil {
		t.Fatal(err)
	}
	if im2.Name != dref || im2.Digest != im.Digest {
		t.Fatalf("by digest: got %s %s", im2.Name, im2.Digest)
	}
	for _, l := range im.Layers {
		if st := states[l.Digest.String()]; st[len(st)-1] != Exists {
			t.Errorf("second pull: layer %s states %v, want … exists", l.Digest, st)
		}
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || len(list[0].Names) != 2 {
		t.Fatalf("List: %d images, names %v; want 1 image with 2 names", len(list), list[0].Names)
	}
}

func platformIndex(t testing.TB) (v1.ImageIndex, map[string]v1.Image) {
	t.Helper()
	imgs := map[string]v1.Image{}
	var adds []mutate.IndexAddendum
	for _, arch := range []string{"amd64", "arm64"} {
		p := &v1.Platform{OS: "linux", Architecture: arch}
		img := randomImage(t, 2, p)
		imgs[arch] = img
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: p}})
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	return idx, imgs
}

func TestPullIndexPlatform(t *testing.T) {
	ctx := ctxT(t)
	host := startRegistry(t, nil)
	idx, imgs := platformIndex(t)
	ref := host + "/multi/app:latest"
	r := mustRef(t, ref)
	if err := remoteWriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	s := openStore(t)

	for _, tc := range []struct {
		name string
		opts []Option
		arch string
	}{
		{"amd64 explicit", []Option{WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"})}, "amd64"},
		{"arm64", []Option{WithPlatform(v1.Platform{OS: "linux", Architecture: "arm64"})}, "arm64"},
		{"host default", nil, HostPlatform().Architecture},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := imgs[tc.arch]; !ok {
				t.Skipf("host architecture %s not in the test index", tc.arch)
			}
			im, err := s.Pull(ctx, ref, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := imgs[tc.arch].Digest()
			if im.Digest.String() != want.String() || im.Platform.Architecture != tc.arch {
				t.Fatalf("got %s (%s), want %s (%s)", im.Digest, im.Platform.String(), want, tc.arch)
			}
			validateStored(t, s, im)
		})
	}

	before := snapshot(t, s)
	_, err := s.Pull(ctx, ref, WithPlatform(v1.Platform{OS: "linux", Architecture: "s390x"}))
	if !errors.Is(err, ErrPlatformNotFound) {
		t.Fatalf("s390x: err %v, want ErrPlatformNotFound", err)
	}
	for _, want := range []string{ref, "linux/amd64", "linux/arm64", "linux/s390x"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if after := snapshot(t, s); after != before {
		t.Errorf("store changed by a failed pull:\n%s\n---\n%s", before, after)
	}
}

// corruptBlobs serves every GET of the given blob with one byte flipped (same length).
func corruptBlobs(bad string) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/blobs/"+bad) {
				h.ServeHTTP(w, r)
				return
			}
			rec := &recorder{header: http.Header{}}
			h.ServeHTTP(rec, r)
			b := rec.body.Bytes()
			if len(b) > 0 {
				b[len(b)/2] ^= 0xff
			}
			for k, v := range rec.header {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.code)
			w.Write(b)
		})
	}
}

type recorder struct {
	header http.Header
	body   bytes.Buffer
	code   int
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(c int) { r.code = c }

func TestPullDigestMismatchLeavesStoreUnchanged(t *testing.T) {
	ctx := ctxT(t)
	img := randomImage(t, 3, nil)
	layers, _ := img.Layers()
	bad, _ := layers[1].Digest()
	host := startRegistry(t, corruptBlobs(bad.String()))
	push(t, host+"/test/bad:v1", img)
	good := randomImage(t, 1, nil)
	push(t, host+"/test/good:v1", good)

	s := openStore(t)
	if _, err := s.Pull(ctx, host+"/test/good:v1"); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, s)
	_, err := s.Pull(ctx, host+"/test/bad:v1")
	if !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("err %v, want ErrDigestMismatch", err)
	}
	var de *DigestError
	if !errors.As(err, &de) || de.Want.String() != bad.String() || de.Got == "" || de.Got == de.Want {
		t.Fatalf("err %v: want a *DigestError for %s with the got digest", err, bad)
	}
	for _, want := range []string{host + "/test/bad:v1", bad.String(), de.Got.String()} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if after := snapshot(t, s); after != before {
		t.Errorf("store changed by a failed pull:\n%s\n---\n%s", before, after)
	}
	noTemps(t, s)
}

func TestPullUnknownTag(t *testing.T) {
	ctx := ctxT(t)
	host := startRegistry(t, nil)
	push(t, host+"/test/app:v1", randomImage(t, 1, nil))
	s := openStore(t)
	ref := host + "/test/app:nope"
	_, err := s.Pull(ctx, ref)
	if !errors.Is(err, ErrImageNotFound) {
		t.Fatalf("err %v, want ErrImageNotFound", err)
	}
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusNotFound {
		t.Fatalf("err %v: want a *transport.Error 404 reachable", err)
	}
	if !strings.Contains(err.Error(), ref) {
		t.Errorf("error %q does not name %s", err, ref)
	}
	// Unknown repository too.
	if _, err := s.Pull(ctx, host+"/nosuch/repo:v1"); !errors.Is(err, ErrImageNotFound) {
		t.Fatalf("unknown repo: err %v, want ErrImageNotFound", err)
	}
}

func TestPullRegistryDown(t *testing.T) {
	ctx := ctxT(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	s := openStore(t)
	_, err = s.Pull(ctx, addr+"/test/app:v1")
	if !errors.Is(err, ErrRegistryUnreachable) {
		t.Fatalf("err %v, want ErrRegistryUnreachable", err)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q does not name %s", err, addr)
	}
}

func TestPullBadReference(t *testing.T) {
	s := openStore(t)
	for _, ref := range []string{"", "UPPER/case", "a b", "host:5000/x:tag:more", "x@sha256:zz"} {
		if _, err := s.Pull(ctxT(t), ref); !errors.Is(err, ErrInvalidReference) {
			t.Errorf("Pull(%q): err %v, want ErrInvalidReference", ref, err)
		}
	}
}

func TestPullManifestTooLarge(t *testing.T) {
	ctx := ctxT(t)
	host := startRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/manifests/") {
				w.Header().Set("Content-Type", string(types.OCIManifestSchema1))
				if !strings.Contains(r.URL.Path, "chunked") {
					w.Header().Set("Content-Length", fmt.Sprint(MaxManifestSize+1))
				}
				w.Write(bytes.Repeat([]byte(" "), MaxManifestSize+1))
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	s := openStore(t)
	for _, ref := range []string{host + "/big/app:v1", host + "/big/chunked:v1"} {
		_, err := s.Pull(ctx, ref)
		if !errors.Is(err, ErrManifestTooLarge) || !strings.Contains(err.Error(), ref) {
			t.Errorf("%s: err %v, want ErrManifestTooLarge naming the ref", ref, err)
		}
	}
}

// failTransport fails the test if any request reaches it.
type failTransport struct{ t *testing.T }

func (f failTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.t.Errorf("request reached the network: %s", r.URL)
	return nil, errors.New("unexpected request")
}

func TestInsecureGuard(t *testing.T) {
	// Only the guard is exercised: no request leaves the machine.
	o := makeOptions([]Option{WithTransport(failTransport{t}), WithInsecure("example.test:5000")})
	g := o.httpTransport()
	req, _ := http.NewRequest(http.MethodGet, "http://10.1.2.3:5000/v2/", nil)
	if _, err := g.RoundTrip(req); !errors.Is(err, ErrInsecureRegistry) || !strings.Contains(err.Error(), "10.1.2.3:5000") {
		t.Errorf("http to a private address: err %v, want ErrInsecureRegistry naming it", err)
	}
	for _, h := range []string{"localhost", "127.0.0.1", "::1", "127.0.0.2"} {
		if !isLoopback(h) {
			t.Errorf("%s should count as loopback", h)
		}
	}
	if isLoopback("10.0.0.1") || isLoopback("example.test") {
		t.Error("non-loopback host counted as loopback")
	}
	if !o.isInsecure("example.test:5000") {
		t.Error("example.test:5000 passed to WithInsecure but not insecure")
	}
	if o.isInsecure("10.1.2.3:5000") {
		t.Error("10.1.2.3 must not be insecure")
	}
}

func TestLayerCompressions(t *testing.T) {
	ctx := ctxT(t)
	host := startRegistry(t, nil)
	files := func(n string) map[string]string { return map[string]string{"etc/" + n: "content of " + n + "\n"} }
	gz, err := tarballLayer(tarOf(t, files("gzip")), "gzip")
	if err != nil {
		t.Fatal(err)
	}
	zs, err := tarballLayer(tarOf(t, files("zstd")), "zstd")
	if err != nil {
		t.Fatal(err)
	}
	plain := staticLayer(tarOf(t, files("plain")))
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, gz, zs, plain)
	if err != nil {
		t.Fatal(err)
	}
	push(t, host+"/test/mixed:v1", img)
	s := openStore(t)
	im, err := s.Pull(ctx, host+"/test/mixed:v1")
	if err != nil {
		t.Fatal(err)
	}
	wantMT := []types.MediaType{types.OCILayer, types.OCILayerZStd, types.OCIUncompressedLayer}
	for i, l := range im.Layers {
		if l.MediaType != string(wantMT[i]) {
			t.Errorf("layer %d media type %s, want %s", i, l.MediaType, wantMT[i])
		}
	}
	validateStored(t, s, im)
	for i, n := range []string{"gzip", "zstd", "plain"} {
		rc, err := s.OpenLayer(ctx, im.Layers[i])
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Contains(b, []byte("content of "+n)) {
			t.Errorf("layer %d (%s): tar does not hold etc/%s", i, n, n)
		}
	}
}

func TestConcurrentPullsOneCopy(t *testing.T) {
	ctx := ctxT(t)
	host := startRegistry(t, nil)
	push(t, host+"/test/app:v1", randomImage(t, 4, nil))
	dir := t.TempDir() + "/images"
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(dir) // separate Store values, as separate processes would have
			if err == nil {
				_, err = s.Pull(ctx, host+"/test/app:v1")
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	s, _ := Open(dir)
	idx, err := s.readIndex()
	if err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != 1 {
		t.Fatalf("index.json has %d entries, want 1", len(idx.Manifests))
	}
	noTemps(t, s)
	im, err := s.Image(ctx, host+"/test/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	validateStored(t, s, im)
}
