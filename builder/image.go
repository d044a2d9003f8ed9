package builder

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"

	"github.com/skiffrt/skiff/registry"
)

// UntaggedRepo is the repository an image built without tags is stored
// under, by digest: localhost/skiff-build@sha256:<manifest digest>.
const UntaggedRepo = "localhost/skiff-build"

// assembled is an image made of stored blobs and a config written here: the
// minimal core ggcr's partial package completes into a v1.Image.
type assembled struct {
	b        *Builder
	manifest []byte
	config   []byte
	layers   map[v1.Hash]layer
}

func toHash(d digest.Digest) v1.Hash {
	return v1.Hash{Algorithm: d.Algorithm().String(), Hex: d.Encoded()}
}

// assemble builds the manifest and config of an image with layers ls and
// config cf (whose RootFS it sets).
func (b *Builder) assemble(ls []layer, cf *v1.ConfigFile) (*assembled, digest.Digest, error) {
	cf.RootFS = v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{}}
	a := &assembled{b: b, layers: map[v1.Hash]layer{}}
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, Layers: []v1.Descriptor{}}
	for _, l := range ls {
		cf.RootFS.DiffIDs = append(cf.RootFS.DiffIDs, toHash(l.DiffID))
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: types.MediaType(l.MediaType), Size: l.Size, Digest: toHash(l.Digest)})
		a.layers[toHash(l.Digest)] = l
	}
	var err error
	if a.config, err = json.Marshal(cf); err != nil {
		return nil, "", err
	}
	m.Config = v1.Descriptor{MediaType: types.OCIConfigJSON, Size: int64(len(a.config)), Digest: toHash(digest.FromBytes(a.config))}
	if a.manifest, err = json.Marshal(m); err != nil {
		return nil, "", err
	}
	return a, digest.FromBytes(a.manifest), nil
}

func (a *assembled) RawConfigFile() ([]byte, error)      { return a.config, nil }
func (a *assembled) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
func (a *assembled) RawManifest() ([]byte, error)        { return a.manifest, nil }
func (a *assembled) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	l, ok := a.layers[h]
	if !ok {
		return nil, fmt.Errorf("no layer %s in the built image", h)
	}
	return &blobLayer{b: a.b, l: l}, nil
}

// blobLayer is a stored layer blob, from the build cache or the image store.
type blobLayer struct {
	b *Builder
	l layer
}

func (bl *blobLayer) Digest() (v1.Hash, error) { return toHash(bl.l.Digest), nil }
func (bl *blobLayer) Size() (int64, error)     { return bl.l.Size, nil }
func (bl *blobLayer) MediaType() (types.MediaType, error) {
	return types.MediaType(bl.l.MediaType), nil
}
func (bl *blobLayer) Compressed() (io.ReadCloser, error) {
	if bl.l.Blob != "" {
		return os.Open(bl.l.Blob)
	}
	// A base layer: its blob is in the image store (an OCI image layout).
	return os.Open(bl.b.cfg.Images.Dir() + "/blobs/" + bl.l.Digest.Algorithm().String() + "/" + bl.l.Digest.Encoded())
}

// writeImage stores the image made of ls and cf under every ref (or, with
// none, under UntaggedRepo by digest) and returns it as stored.
func (b *Builder) writeImage(ctx context.Context, refs []string, ls []layer, cf *v1.ConfigFile) (*registry.Image, error) {
	a, mdig, err := b.assemble(ls, cf)
	if err != nil {
		return nil, err
	}
	img, err := partial.CompressedToImage(a)
	if err != nil {
		return nil, err
	}
	if len(refs) == 0 {
		refs = []string{UntaggedRepo + "@" + mdig.String()}
	}
	var first *registry.Image
	for _, ref := range refs {
		im, err := b.cfg.Images.Write(ctx, ref, img)
		if err != nil {
			return nil, err
		}
		if first == nil {
			first = im
		}
	}
	return first, nil
}
