package registry

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"
)

// Push uploads the stored image named ref to the registry and repository ref names, and
// returns the manifest digest. Blobs the registry has are not uploaded (ggcr checks each
// with a HEAD); a blob the image also has under another repository of the same registry
// (one of its other names) is mounted from there instead of uploaded. The manifest goes
// up byte for byte, so the digest stays the one in the store. Progress events (WithProgress)
// use Downloading for upload bytes; a blob never read ends as Exists. Errors name the
// reference and wrap ErrImageNotFound (no such local image), ErrUnauthorized or
// ErrRegistryUnreachable; a registry's answer stays reachable as *transport.Error.
//
// The CLI equivalent is `skopeo copy oci:DIR:REF docker://REF`.
func (s *Store) Push(ctx context.Context, ref string, opts ...Option) (digest.Digest, error) {
	o := makeOptions(opts)
	r, err := o.parseRemote(ref)
	if err != nil {
		return "", fmt.Errorf("registry: push: %w", err)
	}
	norm := normalized(r)
	entries, err := s.entries()
	if err != nil {
		return "", fmt.Errorf("registry: push %s: %w", norm, err)
	}
	matches, _, err := s.match(entries, norm)
	if err != nil {
		return "", fmt.Errorf("registry: push %s: %w", norm, err)
	}
	desc := matches[0]
	img, err := layout.Path(s.dir).Image(desc.Digest)
	if err != nil {
		return "", fmt.Errorf("registry: push %s: %w", norm, err)
	}
	mf, err := img.Manifest()
	if err != nil {
		return "", fmt.Errorf("registry: push %s: %w", norm, err)
	}

	pi := &pushImage{Image: img, rep: &reporter{fn: o.progress}, ref: norm, read: map[v1.Hash]bool{}}
	// Mount source: another name of this image in the same registry, other repository.
	for _, n := range namesOf(entries, toDigest(desc.Digest)) {
		src, err := o.parseRemote(n)
		if err == nil && src.Context().RegistryStr() == r.Context().RegistryStr() &&
			src.Context().RepositoryStr() != r.Context().RepositoryStr() {
			pi.mountFrom = src
			break
		}
	}
	for _, l := range mf.Layers {
		pi.rep.send(Progress{Ref: norm, Digest: toDigest(l.Digest), MediaType: string(l.MediaType), Total: l.Size})
	}
	if err := remote.Write(r, pi, o.remoteOptions(ctx)...); err != nil {
		return "", classify("push", norm, r.Context().RegistryStr(), err)
	}
	for _, l := range mf.Layers {
		ev := Progress{Ref: norm, Digest: toDigest(l.Digest), MediaType: string(l.MediaType), Total: l.Size, Done: l.Size, State: Exists}
		pi.mu.Lock()
		if pi.read[l.Digest] {
			ev.State = Done
		}
		pi.mu.Unlock()
		pi.rep.send(ev)
	}
	return toDigest(desc.Digest), nil
}

// pushImage wraps a stored image so its layers report upload progress and, when a mount
// source is known, are ggcr MountableLayers.
type pushImage struct {
	v1.Image
	rep       *reporter
	ref       string
	mountFrom name.Reference
	mu        sync.Mutex
	read      map[v1.Hash]bool
}

func (pi *pushImage) wrap(l v1.Layer) v1.Layer {
	var out v1.Layer = &progressLayer{Layer: l, pi: pi}
	if pi.mountFrom != nil {
		out = &remote.MountableLayer{Layer: out, Reference: pi.mountFrom}
	}
	return out
}

// Layers implements v1.Image.
func (pi *pushImage) Layers() ([]v1.Layer, error) {
	ls, err := pi.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for i, l := range ls {
		out[i] = pi.wrap(l)
	}
	return out, nil
}

// LayerByDigest implements v1.Image.
func (pi *pushImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	l, err := pi.Image.LayerByDigest(h)
	if err != nil {
		return nil, err
	}
	return pi.wrap(l), nil
}

// Descriptor keeps the stored manifest's descriptor (see partial.Descriptor).
func (pi *pushImage) Descriptor() (*v1.Descriptor, error) { return partial.Descriptor(pi.Image) }

// progressLayer reports the bytes read from the layer's blob as upload progress.
type progressLayer struct {
	v1.Layer
	pi *pushImage
}

func (pl *progressLayer) Compressed() (io.ReadCloser, error) {
	rc, err := pl.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	d, _ := pl.Layer.Digest()
	size, _ := pl.Layer.Size()
	mt, _ := pl.Layer.MediaType()
	pl.pi.mu.Lock()
	pl.pi.read[d] = true
	pl.pi.mu.Unlock()
	ev := Progress{Ref: pl.pi.ref, Digest: toDigest(d), MediaType: string(mt), Total: size, State: Downloading}
	pl.pi.rep.send(ev)
	if pl.pi.rep.fn == nil {
		return rc, nil
	}
	return &teeReadCloser{Reader: io.TeeReader(rc, &progressWriter{r: pl.pi.rep, ev: ev}), Closer: rc}, nil
}

type teeReadCloser struct {
	io.Reader
	io.Closer
}
