package skiff

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/skiffrt/skiff/errdefs"
	"github.com/skiffrt/skiff/registry"
)

// ErrInvalidArchive: a tar given to LoadImages is not a docker-archive (docker save) the
// engine can read; the error names what is wrong.
var ErrInvalidArchive = errdefs.New(errdefs.ErrInvalidArgument, "invalid image archive")

// SaveImages writes the stored images refs to w as one docker-archive tar (docker save):
// manifest.json naming each image's tags, the configs and the layers. An image given by
// name is saved under that name; one given by ID or digest under all its names.
func (e *Engine) SaveImages(ctx context.Context, w io.Writer, refs ...string) error {
	if len(refs) == 0 {
		return fmt.Errorf("save: %w: no image given", errdefs.ErrInvalidArgument)
	}
	release, err := e.images.LockGC(ctx, registry.GCShared) // no prune removes a blob meanwhile
	if err != nil {
		return fmt.Errorf("save: %w", err)
	}
	defer release()
	byDigest := map[string]v1.Image{} // one image value per manifest, however many names
	toWrite := map[name.Reference]v1.Image{}
	for _, ref := range refs {
		img, im, err := e.images.V1Image(ctx, ref)
		if err != nil {
			return fmt.Errorf("save %s: %w", ref, err)
		}
		if prev, ok := byDigest[im.Digest.String()]; ok {
			img = prev
		}
		byDigest[im.Digest.String()] = img
		names := im.Names
		if norm, err := registry.Normalize(ref); err == nil && slices.Contains(im.Names, norm) {
			names = []string{norm}
		}
		for _, n := range names {
			if strings.Contains(n, "@") {
				continue // a digest name: no tag to record
			}
			tag, err := name.NewTag(registry.Familiar(n))
			if err != nil {
				return fmt.Errorf("save %s: name %s: %w", ref, n, err)
			}
			toWrite[tag] = img
		}
	}
	if err := tarball.MultiRefWrite(toWrite, readerCtxWriter{ctx, w}); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	for _, ref := range refs {
		e.emit(EventImage, "save", ref, map[string]string{"name": ref})
	}
	return nil
}

// LoadImages reads a docker-archive tar (docker save) from r, stores every tagged image
// in it, unpacks their layers and returns the names loaded (docker load). Each blob is
// verified on the way in; an archive that fails leaves the store as it was for the image
// that failed.
func (e *Engine) LoadImages(ctx context.Context, r io.Reader) ([]string, error) {
	spool, path, err := e.spool(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	defer spool.Close()
	opener := func() (io.ReadCloser, error) { return os.Open(path) }
	manifest, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, fmt.Errorf("load: %w: manifest.json: %v", ErrInvalidArchive, err)
	}
	if len(manifest) == 0 {
		return nil, fmt.Errorf("load: %w: manifest.json lists no image", ErrInvalidArchive)
	}
	var loaded []string
	for i, desc := range manifest {
		if len(desc.RepoTags) == 0 {
			return loaded, fmt.Errorf("load: %w: image %d (config %s) has no name; tag it before saving", ErrInvalidArchive, i, desc.Config)
		}
		tag, err := name.NewTag(desc.RepoTags[0])
		if err != nil {
			return loaded, fmt.Errorf("load: %w: name %q: %v", ErrInvalidArchive, desc.RepoTags[0], err)
		}
		img, err := tarball.Image(opener, &tag)
		if err != nil {
			return loaded, fmt.Errorf("load %s: %w: %v", desc.RepoTags[0], ErrInvalidArchive, err)
		}
		stored, err := e.images.Write(ctx, desc.RepoTags[0], img)
		if err != nil {
			return loaded, fmt.Errorf("load %s: %w", desc.RepoTags[0], err)
		}
		if err := e.unpack(ctx, stored); err != nil {
			return loaded, fmt.Errorf("load %s: %w", desc.RepoTags[0], err)
		}
		for _, t := range desc.RepoTags[1:] {
			if err := e.images.Tag(ctx, desc.RepoTags[0], t); err != nil {
				return loaded, fmt.Errorf("load %s: %w", t, err)
			}
		}
		for _, t := range desc.RepoTags {
			loaded = append(loaded, t)
			e.emit(EventImage, "load", t, map[string]string{"name": t})
		}
	}
	return loaded, nil
}

// readerCtxWriter stops a write when its context ends.
type readerCtxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c readerCtxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// InspectRemote asks ref's registry for its manifest descriptor and platforms without
// pulling (registry.Inspect), with the engine's insecure registries.
func (e *Engine) InspectRemote(ctx context.Context, ref string, opts ...registry.Option) (*registry.RemoteImage, error) {
	all := append([]registry.Option{registry.WithInsecure(e.insecure...)}, opts...)
	return registry.Inspect(ctx, ref, all...)
}
