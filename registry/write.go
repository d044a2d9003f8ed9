package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sync/errgroup"

	"github.com/skiffrt/skiff/internal/exhausted"
)

// Write stores img in the store under the name ref (normalized; it replaces an earlier image
// of that name) and returns it as read back from the store. Every blob is verified against
// its digest on the way in, and nothing is visible until all blobs are in place. Builders and
// tests use it; Pull uses the same path.
func (s *Store) Write(ctx context.Context, ref string, img v1.Image) (*Image, error) {
	r, err := parseRef(ref)
	if err != nil {
		return nil, fmt.Errorf("registry: write: %w", err)
	}
	norm := normalized(r)
	im, err := s.ingest(ctx, norm, img, makeOptions(nil))
	if err != nil {
		return nil, fmt.Errorf("registry: write %s: %w", norm, exhausted.Mark(err))
	}
	return im, nil
}

// supportedLayer reports whether OpenLayer can decompress layers of media type mt.
func supportedLayer(mt types.MediaType) bool {
	switch mt {
	case types.DockerLayer, types.DockerForeignLayer, types.DockerUncompressedLayer,
		types.OCILayer, types.OCILayerZStd, types.OCIUncompressedLayer,
		types.OCIRestrictedLayer, types.OCIUncompressedRestrictedLayer:
		return true
	}
	return false
}

// ingest copies img into the store as ref: config, layers (concurrently, skipping those
// present), then the manifest, all staged in one txn, then the index.json entry.
func (s *Store) ingest(ctx context.Context, ref string, img v1.Image, o *options) (*Image, error) {
	mt, err := img.MediaType()
	if err != nil {
		return nil, err
	}
	if !mt.IsImage() || mt.IsSchema1() {
		return nil, fmt.Errorf("%w: manifest %q", ErrUnsupportedMediaType, mt)
	}
	rawManifest, err := img.RawManifest()
	if err != nil {
		return nil, err
	}
	if len(rawManifest) > MaxManifestSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrManifestTooLarge, len(rawManifest))
	}
	m, err := v1.ParseManifest(bytes.NewReader(rawManifest))
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	rawConfig, err := img.RawConfigFile()
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", m.Config.Digest, err)
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(rawConfig))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", m.Config.Digest, err)
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("manifest has %d layers but config %s has %d diff_ids", len(m.Layers), m.Config.Digest, len(cfg.RootFS.DiffIDs))
	}
	for _, l := range m.Layers {
		if !supportedLayer(l.MediaType) {
			return nil, fmt.Errorf("%w: layer %s: %q", ErrUnsupportedMediaType, l.Digest, l.MediaType)
		}
		if err := checkDigest(toDigest(l.Digest)); err != nil {
			return nil, err
		}
	}
	if err := checkDigest(toDigest(m.Config.Digest)); err != nil {
		return nil, err
	}
	if o.platformSet {
		if have := platformOf(cfg); !have.Satisfies(o.platform) {
			return nil, fmt.Errorf("%w: %s is %s, want %s (available: %s)", ErrPlatformNotFound, ref, have.String(), o.platform.String(), have.String())
		}
	}

	// A shared lock on the gc lock keeps Prune from deleting blobs between their rename and
	// the index.json entry that references them.
	release, err := s.LockGC(ctx, GCShared)
	if err != nil {
		return nil, err
	}
	defer release()

	t := s.newTxn(ref)
	defer t.abort()
	rep := &reporter{fn: o.progress}

	cfgDigest := toDigest(m.Config.Digest)
	if !s.hasBlob(cfgDigest, m.Config.Size) {
		if err := t.put(ctx, bytes.NewReader(rawConfig), cfgDigest, m.Config.Size, nil); err != nil {
			return nil, err
		}
	}

	chains := chainIDs(cfg.RootFS.DiffIDs)
	job := func(i int) *unpackJob {
		if o.unpack == nil {
			return nil
		}
		l := m.Layers[i]
		return &unpackJob{fn: o.unpack, chainID: chains[i], layer: Layer{
			Digest: toDigest(l.Digest), DiffID: toDigest(cfg.RootFS.DiffIDs[i]), MediaType: string(l.MediaType), Size: l.Size,
		}}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.jobs)
	seen := map[v1.Hash]bool{}
	var dups []int
	for i, l := range m.Layers {
		if seen[l.Digest] {
			dups = append(dups, i)
			continue
		}
		seen[l.Digest] = true
		ev := Progress{Ref: ref, Digest: toDigest(l.Digest), MediaType: string(l.MediaType), Total: l.Size}
		rep.send(ev) // Waiting
		uj := job(i)
		g.Go(func() error {
			return s.fetchLayer(gctx, t, img, l, ev, rep, uj)
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	// A blob used by two layers was fetched once; unpack its other chain IDs from disk.
	for _, i := range dups {
		if uj := job(i); uj != nil {
			if err := uj.fromFile(ctx, t.path(uj.layer.Digest)); err != nil {
				return nil, err
			}
		}
	}

	mdig := digest.FromBytes(rawManifest)
	if !s.hasBlob(mdig, int64(len(rawManifest))) {
		if err := t.put(ctx, bytes.NewReader(rawManifest), mdig, int64(len(rawManifest)), nil); err != nil {
			return nil, err
		}
	}
	if err := t.commit(); err != nil {
		return nil, err
	}
	plat := platformOf(cfg)
	desc := v1.Descriptor{
		MediaType:   mt,
		Size:        int64(len(rawManifest)),
		Digest:      v1.Hash{Algorithm: "sha256", Hex: mdig.Encoded()},
		Annotations: map[string]string{RefNameAnnotation: ref},
		Platform:    &plat,
	}
	if err := s.updateIndex(func(idx *v1.IndexManifest) error {
		setEntry(idx, desc)
		return nil
	}); err != nil {
		return nil, err
	}
	return s.load(desc)
}

// fetchLayer copies one layer blob into t unless the store has it, retrying transient
// failures (a connection cut mid-blob) with backoff. A digest mismatch is not retried.
func (s *Store) fetchLayer(ctx context.Context, t *txn, img v1.Image, l v1.Descriptor, ev Progress, rep *reporter, uj *unpackJob) error {
	d := toDigest(l.Digest)
	if s.hasBlob(d, l.Size) {
		ev.State, ev.Done = Exists, l.Size
		rep.send(ev)
		if uj != nil {
			return uj.fromFile(ctx, s.blobPath(d))
		}
		return nil
	}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return err
			case <-time.After(time.Duration(attempt) * 300 * time.Millisecond):
			}
		}
		err = s.copyLayer(ctx, t, img, l, ev, rep, uj)
		var de *DigestError
		var ue *unpackError
		if err == nil || ctx.Err() != nil || (errors.As(err, &de) && de.Got != "") || errors.As(err, &ue) {
			break
		}
	}
	if err != nil {
		ev.State, ev.Err = Failed, err
		rep.send(ev)
		return err
	}
	ev.State, ev.Done = Done, l.Size
	rep.send(ev)
	return nil
}

func (s *Store) copyLayer(ctx context.Context, t *txn, img v1.Image, l v1.Descriptor, ev Progress, rep *reporter, uj *unpackJob) error {
	layer, err := img.LayerByDigest(l.Digest)
	if err != nil {
		return fmt.Errorf("layer %s: %w", l.Digest, err)
	}
	rc, err := layer.Compressed()
	if err != nil {
		return fmt.Errorf("layer %s: %w", l.Digest, err)
	}
	defer rc.Close()
	ev.State = Downloading
	rep.send(ev)
	var ws []io.Writer
	if rep.fn != nil {
		ws = append(ws, &progressWriter{r: rep, ev: ev})
	}
	if uj == nil {
		return t.put(ctx, rc, toDigest(l.Digest), l.Size, multi(ws))
	}
	// Tee the compressed bytes into the unpacker as they arrive.
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- uj.fromStream(ctx, pr) }()
	err = t.put(ctx, rc, toDigest(l.Digest), l.Size, multi(append(ws, pw)))
	pw.CloseWithError(err) // nil: EOF for the unpacker
	uerr := <-done
	// A failed download is the cause whatever the unpacker then saw (a cut stream looks
	// to it like a truncated tar): report it, so that the caller retries the blob. The
	// unpacker's own error counts when the bytes all arrived, or when it is what
	// stopped the download (the unpacker gave up first, e.g. on a full disk).
	var ue *unpackError
	if err != nil && !(uerr != nil && errors.As(err, &ue)) {
		return err
	}
	return uerr
}

func multi(ws []io.Writer) io.Writer {
	switch len(ws) {
	case 0:
		return nil
	case 1:
		return ws[0]
	}
	return io.MultiWriter(ws...)
}

// chainIDs computes the chain ID of each layer from the diff IDs.
func chainIDs(diffIDs []v1.Hash) []digest.Digest {
	ls := make([]Layer, len(diffIDs))
	for i, d := range diffIDs {
		ls[i].DiffID = toDigest(d)
	}
	return (&Image{Layers: ls}).ChainIDs()
}

// setEntry puts desc in idx under its ref name, replacing any entry of that name.
func setEntry(idx *v1.IndexManifest, desc v1.Descriptor) {
	name := desc.Annotations[RefNameAnnotation]
	out := idx.Manifests[:0]
	for _, d := range idx.Manifests {
		if d.Annotations[RefNameAnnotation] != name {
			out = append(out, d)
		}
	}
	idx.Manifests = append(out, desc)
}
