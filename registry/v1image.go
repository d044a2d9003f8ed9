package registry

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// V1Image returns the stored image ref (a name, digest or ID, as Image takes it) as a
// go-containerregistry image that reads its manifest, config and layers from the store,
// for writers of other formats (docker save). Blobs are read lazily: the image is valid
// while no prune removes them (hold the GC lock shared meanwhile).
func (s *Store) V1Image(ctx context.Context, ref string) (v1.Image, *Image, error) {
	im, err := s.Image(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	h, err := v1.NewHash(im.Digest.String())
	if err != nil {
		return nil, nil, fmt.Errorf("%w: manifest digest %s: %v", ErrCorruptStore, im.Digest, err)
	}
	img, err := layout.Path(s.dir).Image(h)
	if err != nil {
		return nil, nil, fmt.Errorf("registry: image %s: %w", ref, err)
	}
	return img, im, nil
}
