package registry

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
)

// cutBlobs sends half of a layer blob and then drops the connection, for the first n
// layer-blob GETs (n < 0: always).
func cutBlobs(n *atomic.Int64) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/sha256:") {
				h.ServeHTTP(w, r)
				return
			}
			rec := &recorder{header: http.Header{}}
			h.ServeHTTP(rec, r)
			b := rec.body.Bytes()
			if len(b) < 1500 || n.Load() == 0 {
				for k, v := range rec.header {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.code)
				w.Write(b)
				return
			}
			n.Add(-1)
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n")
			buf.WriteString("Content-Length: " + strconv.Itoa(len(b)) + "\r\n\r\n")
			buf.Write(b[:len(b)/2])
			buf.Flush()
			conn.Close()
		})
	}
}

func TestPullRetriesCutConnection(t *testing.T) {
	ctx := ctxT(t)
	var cuts atomic.Int64
	cuts.Store(1)
	host := startRegistry(t, cutBlobs(&cuts))
	push(t, host+"/test/app:v1", randomImage(t, 2, nil))
	s := openStore(t)
	im, err := s.Pull(ctx, host+"/test/app:v1")
	if err != nil {
		t.Fatalf("one cut connection should be retried: %v", err)
	}
	validateStored(t, s, im)
	noTemps(t, s)
}

func TestPullCutConnectionFails(t *testing.T) {
	ctx := ctxT(t)
	var cuts atomic.Int64
	cuts.Store(1 << 30)
	host := startRegistry(t, cutBlobs(&cuts))
	push(t, host+"/test/app:v1", randomImage(t, 1, nil))
	s := openStore(t)
	before := snapshot(t, s)
	_, err := s.Pull(ctx, host+"/test/app:v1")
	if err == nil || !strings.Contains(err.Error(), host+"/test/app:v1") || !strings.Contains(err.Error(), "sha256:") {
		t.Fatalf("err %v: want an error naming the reference and the blob", err)
	}
	if after := snapshot(t, s); after != before {
		t.Errorf("store changed by a failed pull")
	}
	noTemps(t, s)
}

func TestPullServerError(t *testing.T) {
	ctx := ctxT(t)
	host := startRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/manifests/") {
				http.Error(w, "boom", http.StatusInternalServerError)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	s := openStore(t)
	_, err := s.Pull(ctx, host+"/test/app:v1")
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.StatusCode != 500 || !strings.Contains(err.Error(), host) {
		t.Fatalf("err %v: want a *transport.Error 500 naming %s", err, host)
	}
}

func TestPullUnknownLayerMediaType(t *testing.T) {
	ctx := ctxT(t)
	host := startRegistry(t, nil)
	l, err := random.Layer(512, types.MediaType("application/x-unknown"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(ociImage(t, 0), l)
	if err != nil {
		t.Fatal(err)
	}
	push(t, host+"/test/odd:v1", img)
	s := openStore(t)
	before := snapshot(t, s)
	_, err = s.Pull(ctx, host+"/test/odd:v1")
	if !errors.Is(err, ErrUnsupportedMediaType) || !strings.Contains(err.Error(), "application/x-unknown") {
		t.Fatalf("err %v, want ErrUnsupportedMediaType naming the type", err)
	}
	if snapshot(t, s) != before {
		t.Error("store changed")
	}
}

// TestPullRetriesCutConnectionWhileUnpacking: with WithUnpack (the engine's pull), a
// cut download is retried too, and the unpacker gets a fresh stream.
func TestPullRetriesCutConnectionWhileUnpacking(t *testing.T) {
	ctx := ctxT(t)
	var cuts atomic.Int64
	cuts.Store(1)
	host := startRegistry(t, cutBlobs(&cuts))
	push(t, host+"/test/app:v1", randomImage(t, 2, nil))
	s := openStore(t)
	var calls atomic.Int64
	unpack := func(ctx context.Context, l Layer, chain digest.Digest, r io.Reader) error {
		calls.Add(1)
		tr := tar.NewReader(r)
		for {
			if _, err := tr.Next(); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
		}
	}
	im, err := s.Pull(ctx, host+"/test/app:v1", WithUnpack(unpack))
	if err != nil {
		t.Fatalf("one cut connection should be retried while unpacking: %v", err)
	}
	if calls.Load() < 3 { // two layers, one of them twice
		t.Errorf("unpacker called %d times, want a fresh stream after the cut", calls.Load())
	}
	validateStored(t, s, im)
	noTemps(t, s)
}
