package registry

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// countUploads counts blob upload requests per repository and mount attempts.
type uploadCounter struct {
	mu     sync.Mutex
	puts   map[string]int // PUT .../blobs/uploads/... by path prefix (repository)
	mounts int
}

func (c *uploadCounter) wrap(h http.Handler) http.Handler {
	c.puts = map[string]int{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		if i := strings.Index(r.URL.Path, "/blobs/uploads"); i > 0 {
			if r.Method == http.MethodPost && r.URL.Query().Get("mount") != "" {
				c.mounts++
			}
			if r.Method == http.MethodPut {
				c.puts[r.URL.Path[:i]]++
			}
		}
		c.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func TestPushRoundTrip(t *testing.T) {
	ctx := ctxT(t)
	var c uploadCounter
	host := startRegistry(t, c.wrap)
	s := openStore(t)
	im, err := s.Write(ctx, host+"/a/app:v1", randomImage(t, 3, nil))
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.Push(ctx, host+"/a/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	if d != im.Digest {
		t.Errorf("pushed digest %s, stored %s", d, im.Digest)
	}
	rimg, err := remote.Image(mustRef(t, host+"/a/app:v1"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := rimg.Digest(); got.String() != im.Digest.String() {
		t.Errorf("registry has %s, want %s", got, im.Digest)
	}
	if err := validate.Image(rimg); err != nil {
		t.Errorf("validate pushed image: %v", err)
	}
	if n := c.puts["/v2/a/app"]; n != 4 { // 3 layers + config
		t.Errorf("first push uploaded %d blobs, want 4", n)
	}

	// Again: the registry has every blob, nothing is uploaded.
	c.puts = map[string]int{}
	var states []State
	if _, err := s.Push(ctx, host+"/a/app:v1", WithProgress(func(p Progress) { states = append(states, p.State) })); err != nil {
		t.Fatal(err)
	}
	if n := c.puts["/v2/a/app"]; n != 0 {
		t.Errorf("second push uploaded %d blobs, want 0", n)
	}
	if len(states) == 0 || states[len(states)-1] != Exists {
		t.Errorf("second push progress %v, want layers ending as exists", states)
	}

	// Another repository of the same registry: ggcr's registry shares blobs across
	// repositories, so nothing is uploaded; the client offers mounts from a/app.
	if err := s.Tag(ctx, host+"/a/app:v1", host+"/b/app:v1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Push(ctx, host+"/b/app:v1"); err != nil {
		t.Fatal(err)
	}
	if n := c.puts["/v2/b/app"]; n != 0 {
		t.Errorf("push to b uploaded %d blobs, want 0", n)
	}

	if _, err := s.Push(ctx, host+"/nosuch/app:v1"); !errors.Is(err, ErrImageNotFound) || !strings.Contains(err.Error(), host+"/nosuch/app:v1") {
		t.Errorf("push of a missing image: %v", err)
	}
}

func TestPushMixedCompressions(t *testing.T) {
	ctx := ctxT(t)
	host := startRegistry(t, nil)
	gz, _ := tarballLayer(tarOf(t, map[string]string{"a": "a"}), "gzip")
	zs, _ := tarballLayer(tarOf(t, map[string]string{"b": "b"}), "zstd")
	img, err := appendLayer(ociImage(t, 0), gz)
	if err != nil {
		t.Fatal(err)
	}
	img, _ = appendLayer(img, zs)
	img, _ = appendLayer(img, staticLayer(tarOf(t, map[string]string{"c": "c"})))
	s := openStore(t)
	im, err := s.Write(ctx, host+"/mixed/app:v1", img)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Push(ctx, im.Name); err != nil {
		t.Fatal(err)
	}
	s2 := openStore(t)
	im2, err := s2.Pull(ctx, im.Name)
	if err != nil {
		t.Fatal(err)
	}
	if im2.Digest != im.Digest {
		t.Errorf("round trip digest %s, want %s", im2.Digest, im.Digest)
	}
	validateStored(t, s2, im2)
}
