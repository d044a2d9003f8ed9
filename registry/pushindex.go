package registry

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
)

// PushIndex pushes a multi-platform image: the stored images sources (one per
// platform, e.g. "app:amd64" and "app:arm64") go to the repository of ref, and an OCI
// image index naming each with its platform goes up under ref. Pulling ref then picks
// the puller's platform. Blobs the registry has are not uploaded. It returns the index
// digest. The CLI equivalent is `docker buildx imagetools create -t REF SOURCE...`.
func (s *Store) PushIndex(ctx context.Context, ref string, sources []string, opts ...Option) (digest.Digest, error) {
	o := makeOptions(opts)
	r, err := o.parseRemote(ref)
	if err != nil {
		return "", fmt.Errorf("registry: push index: %w", err)
	}
	norm := normalized(r)
	if len(sources) == 0 {
		return "", fmt.Errorf("registry: push index %s: %w: no source images", norm, ErrInvalidReference)
	}
	seen := map[string]string{}
	var adds []mutate.IndexAddendum
	for _, src := range sources {
		im, err := s.Image(ctx, src)
		if err != nil {
			return "", fmt.Errorf("registry: push index %s: %w", norm, err)
		}
		p := im.Platform
		if other, dup := seen[p.String()]; dup {
			return "", fmt.Errorf("registry: push index %s: %s and %s are both %s", norm, other, src, p.String())
		}
		seen[p.String()] = src
		h, err := v1.NewHash(im.Digest.String())
		if err != nil {
			return "", fmt.Errorf("registry: push index %s: %w", norm, err)
		}
		img, err := layout.Path(s.dir).Image(h)
		if err != nil {
			return "", fmt.Errorf("registry: push index %s: image %s: %w", norm, src, err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			MediaType: types.MediaType(im.MediaType), Platform: &p,
		}})
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	if err := remote.WriteIndex(r, idx, o.remoteOptions(ctx)...); err != nil {
		return "", classify("push", norm, r.Context().RegistryStr(), err)
	}
	d, err := idx.Digest()
	if err != nil {
		return "", fmt.Errorf("registry: push index %s: %w", norm, err)
	}
	return toDigest(d), nil
}
