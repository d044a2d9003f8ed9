package registry

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// RemoteImage is what a registry says of a reference, without pulling it: the manifest
// (or index) descriptor and the platforms it holds.
type RemoteImage struct {
	// Name is the normalized reference asked for.
	Name      string
	MediaType string
	Digest    digest.Digest
	Size      int64
	// Platforms are the index's platforms, or the image's own (from its config).
	Platforms []v1.Platform
}

// Inspect asks ref's registry for its manifest and returns its descriptor and platforms
// (docker's GET /distribution/{name}/json, `docker manifest inspect`). It stores nothing.
// Errors are those of Pull.
func Inspect(ctx context.Context, ref string, opts ...Option) (*RemoteImage, error) {
	o := makeOptions(opts)
	r, err := o.parseRemote(ref)
	if err != nil {
		return nil, fmt.Errorf("registry: inspect: %w", err)
	}
	norm := normalized(r)
	reg := r.Context().RegistryStr()
	desc, err := remote.Get(r, o.remoteOptions(ctx)...)
	if err != nil {
		return nil, classify("inspect", norm, reg, err)
	}
	out := &RemoteImage{Name: norm, MediaType: string(desc.MediaType), Digest: toDigest(desc.Digest), Size: desc.Size}
	switch {
	case desc.MediaType.IsIndex():
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, classify("inspect", norm, reg, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, classify("inspect", norm, reg, err)
		}
		for _, m := range im.Manifests {
			if m.Platform != nil {
				out.Platforms = append(out.Platforms, *m.Platform)
			}
		}
	case desc.MediaType.IsImage():
		img, err := desc.Image()
		if err != nil {
			return nil, classify("inspect", norm, reg, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, classify("inspect", norm, reg, err)
		}
		out.Platforms = append(out.Platforms, platformOf(cf))
	default:
		return nil, fmt.Errorf("registry: inspect %s: %w: %q", norm, ErrUnsupportedMediaType, desc.MediaType)
	}
	return out, nil
}
