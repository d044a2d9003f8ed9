package builder

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skiffrt/skiff/overlay"
	"github.com/skiffrt/skiff/registry"
)

// layer is one layer of an image being built: a stored blob, its diff ID,
// and its chain ID in the layer store.
type layer struct {
	registry.Layer
	Chain digest.Digest
	// Blob is the compressed blob's path in the build cache, or "" when the
	// blob is in the image store.
	Blob string
}

// withChains returns img's layers with their chain IDs.
func imageLayers(img *registry.Image) []layer {
	chains := img.ChainIDs()
	out := make([]layer, len(img.Layers))
	for i, l := range img.Layers {
		out[i] = layer{Layer: l, Chain: chains[i]}
	}
	return out
}

func chainsOf(ls []layer) []digest.Digest {
	out := make([]digest.Digest, len(ls))
	for i, l := range ls {
		out[i] = l.Chain
	}
	return out
}

func (b *Builder) blobPath(d digest.Digest) string {
	return filepath.Join(b.cfg.CacheDir, "blobs", d.Algorithm().String(), d.Encoded())
}

// open returns the uncompressed tar of l.
func (b *Builder) open(ctx context.Context, l layer) (io.ReadCloser, error) {
	if l.Blob == "" {
		return b.cfg.Images.OpenLayer(ctx, l.Layer)
	}
	f, err := os.Open(l.Blob)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("layer %s: %w", l.Digest, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{zr, f}, nil
}

// ensureUnpacked unpacks every layer of ls that the layer store lacks.
func (bd *build) ensureUnpacked(ctx context.Context, ls []layer) error {
	for _, l := range ls {
		if bd.b.cfg.Layers.Has(l.Chain) {
			continue
		}
		rc, err := bd.b.open(ctx, l)
		if err != nil {
			return fmt.Errorf("layer %s: %w", l.Digest, err)
		}
		bd.noteCreated(l.Chain)
		err = bd.b.cfg.Layers.Unpack(ctx, l.Chain, l.DiffID, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// snapshot prepares a writable snapshot on top of parent, lets mutate change
// it (rootfs is the mounted merged dir) and turns the changes into a new
// layer: diffed, compressed into the cache's blob dir and unpacked into the
// layer store. The snapshot is gone when snapshot returns.
func (bd *build) snapshot(ctx context.Context, parent []layer, mutate func(rootfs string) error) (_ layer, err error) {
	b := bd.b
	if err := bd.ensureUnpacked(ctx, parent); err != nil {
		return layer{}, err
	}
	dir, err := os.MkdirTemp(b.cfg.TempDir, ".tmp-build-")
	if err != nil {
		return layer{}, err
	}
	merged := filepath.Join(dir, "merged")
	defer func() {
		if uerr := overlay.Unmount(merged); uerr != nil && err == nil {
			err = uerr
		}
		os.RemoveAll(dir)
	}()
	m, err := b.cfg.Layers.Prepare(ctx, dir, chainsOf(parent))
	if err != nil {
		return layer{}, err
	}
	if err := os.Mkdir(merged, 0o755); err != nil {
		return layer{}, err
	}
	if err := m.Mount(merged); err != nil {
		return layer{}, err
	}
	if err := mutate(merged); err != nil {
		return layer{}, err
	}
	if err := overlay.Unmount(merged); err != nil {
		return layer{}, err
	}
	lowers := make([]string, len(parent))
	for i, l := range parent {
		lowers[i] = b.cfg.Layers.Dir(l.Chain)
	}
	return bd.commitUpper(ctx, parent, lowers, filepath.Join(dir, "upper"), dir)
}

// commitUpper diffs upper (over lowers, the dirs of parent) into a layer
// stored in the cache's blob dir and unpacked in the layer store. tmpDir
// holds the uncompressed tar while it is unpacked.
func (bd *build) commitUpper(ctx context.Context, parent []layer, lowers []string, upper, tmpDir string) (layer, error) {
	b := bd.b
	tarFile, err := os.CreateTemp(tmpDir, ".tmp-layer-")
	if err != nil {
		return layer{}, err
	}
	defer os.Remove(tarFile.Name())
	defer tarFile.Close()
	blobTmp, err := os.CreateTemp(filepath.Join(b.cfg.CacheDir, "blobs"), ".tmp-blob-")
	if err != nil {
		return layer{}, err
	}
	defer os.Remove(blobTmp.Name())
	defer blobTmp.Close()

	diffHash, blobHash := sha256.New(), sha256.New()
	counter := &countWriter{w: io.MultiWriter(blobTmp, blobHash)}
	zw, err := gzip.NewWriterLevel(counter, gzip.BestSpeed)
	if err != nil {
		return layer{}, err
	}
	if err := overlay.Diff(ctx, lowers, upper, io.MultiWriter(tarFile, diffHash, zw), overlay.DiffOptions{SourceDateEpoch: bd.epoch}); err != nil {
		return layer{}, err
	}
	if err := zw.Close(); err != nil {
		return layer{}, err
	}
	if err := blobTmp.Sync(); err != nil {
		return layer{}, err
	}
	diffID := digest.NewDigestFromBytes(digest.SHA256, diffHash.Sum(nil))
	blobDigest := digest.NewDigestFromBytes(digest.SHA256, blobHash.Sum(nil))
	diffIDs := make([]digest.Digest, 0, len(parent)+1)
	for _, l := range parent {
		diffIDs = append(diffIDs, l.DiffID)
	}
	diffIDs = append(diffIDs, diffID)
	l := layer{
		Layer: registry.Layer{Digest: blobDigest, DiffID: diffID, MediaType: ocispec.MediaTypeImageLayerGzip, Size: counter.n},
		Chain: identity.ChainID(diffIDs),
		Blob:  b.blobPath(blobDigest),
	}
	// Unpacked first, then the blob renamed into the cache: a failed unpack (a full
	// disk, no descriptor left) leaves no blob that no cache key names.
	if !b.cfg.Layers.Has(l.Chain) {
		if _, err := tarFile.Seek(0, io.SeekStart); err != nil {
			return layer{}, err
		}
		bd.noteCreated(l.Chain)
		if err := b.cfg.Layers.Unpack(ctx, l.Chain, diffID, tarFile); err != nil {
			return layer{}, err
		}
	}
	if err := os.Rename(blobTmp.Name(), l.Blob); err != nil {
		return layer{}, err
	}
	return l, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// withMounted mounts a snapshot of ls (read only by convention) and calls fn
// with its root; it is how COPY --from reads another stage or image.
func (bd *build) withMounted(ctx context.Context, ls []layer, fn func(root string) error) (err error) {
	b := bd.b
	if err := bd.ensureUnpacked(ctx, ls); err != nil {
		return err
	}
	dir, err := os.MkdirTemp(b.cfg.TempDir, ".tmp-build-")
	if err != nil {
		return err
	}
	merged := filepath.Join(dir, "merged")
	defer func() {
		if uerr := overlay.Unmount(merged); uerr != nil && err == nil {
			err = uerr
		}
		os.RemoveAll(dir)
	}()
	if len(ls) == 0 {
		return fn(dir) // scratch: an empty dir
	}
	m, err := b.cfg.Layers.Prepare(ctx, dir, chainsOf(ls))
	if err != nil {
		return err
	}
	if err := os.Mkdir(merged, 0o755); err != nil {
		return err
	}
	if err := m.Mount(merged); err != nil {
		return err
	}
	return fn(merged)
}

// cleanup removes the layers this build unpacked that keep is not using.
func (bd *build) cleanup(keep []layer) {
	bd.mu.Lock()
	defer bd.mu.Unlock()
	if bd.release != nil {
		bd.release()
		bd.release = func() {}
	}
	if len(bd.created) == 0 {
		return
	}
	// Another build (or a pull) may be using these layers: leave them to a later GC.
	unlock, ok := bd.b.exclusiveNow()
	if !ok {
		bd.b.log.Debug("build: unused layers left for GC (another build or pull runs)", "layers", len(bd.created))
		return
	}
	defer unlock()
	used := map[digest.Digest]bool{}
	for _, l := range keep {
		used[l.Chain] = true
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for c := range bd.created {
		if used[c] {
			continue
		}
		if err := bd.b.cfg.Layers.Remove(ctx, c); err != nil && !errors.Is(err, overlay.ErrLayerNotFound) {
			bd.b.log.Warn("build: remove unused layer", "chainID", c, "err", err)
		}
	}
}

// chainOf is the chain ID of a layer with diffID on top of parent.
func chainOf(parent []layer, diffID digest.Digest) digest.Digest {
	ids := make([]digest.Digest, 0, len(parent)+1)
	for _, l := range parent {
		ids = append(ids, l.DiffID)
	}
	return identity.ChainID(append(ids, diffID))
}
