package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/go-digest"
)

// Image is an image in the store, as read from its manifest and config blobs.
type Image struct {
	Name      string        // the name it was found by (normalized); for a lookup by ID, its first name
	Names     []string      // every name (index.json entry) pointing at this manifest, sorted
	Digest    digest.Digest // manifest digest
	ID        digest.Digest // config digest (docker's image ID)
	MediaType string        // manifest media type (OCI or Docker schema 2)
	Platform  v1.Platform   // from the config: OS, architecture, variant
	Size      int64         // bytes of the stored blobs: manifest + config + layers (compressed)
	Config    v1.ConfigFile // ggcr's type (Config.Env, Cmd, Entrypoint, WorkingDir, User, ...)
	Layers    []Layer       // bottom → top
}

// Layer is one layer of an Image: the stored blob (Digest, MediaType, Size, as the manifest
// gives them) and the digest of its uncompressed tar (DiffID, from the config).
type Layer struct {
	Digest    digest.Digest
	DiffID    digest.Digest
	MediaType string
	Size      int64
}

// HistoryStep is one step of an image's history (docker history): what made it and the
// layer it added, if any.
type HistoryStep struct {
	Created   time.Time
	CreatedBy string // the command, e.g. "/bin/sh -c #(nop)  CMD [\"sh\"]"
	Comment   string
	// Layer is the layer the step added; nil for a step that changed only the config.
	Layer *Layer
}

// History returns the image's steps, bottom → top, from its config's history: each step
// that is not marked empty_layer adds the next layer. Layers that no step accounts for
// (an image whose config has no history, or too short a one) each get a step with no
// command; steps claiming more layers than there are get none.
func (im *Image) History() []HistoryStep {
	out := make([]HistoryStep, 0, len(im.Config.History)+len(im.Layers))
	next := 0
	for _, h := range im.Config.History {
		st := HistoryStep{Created: h.Created.Time, CreatedBy: h.CreatedBy, Comment: h.Comment}
		if !h.EmptyLayer && next < len(im.Layers) {
			st.Layer = &im.Layers[next]
			next++
		}
		out = append(out, st)
	}
	for ; next < len(im.Layers); next++ {
		out = append(out, HistoryStep{Created: im.Config.Created.Time, Layer: &im.Layers[next]})
	}
	return out
}

// ShortID is the docker-style 12 hex digits of the image ID.
func (im *Image) ShortID() string {
	e := im.ID.Encoded()
	if len(e) > 12 {
		e = e[:12]
	}
	return e
}

// ChainIDs returns the chain ID of every layer, bottom → top (the OCI image spec's
// ChainID(L₀) = DiffID(L₀), ChainID(Lₙ) = sha256(ChainID(Lₙ₋₁) + " " + DiffID(Lₙ))): the keys
// under which unpacked layers are shared.
func (im *Image) ChainIDs() []digest.Digest {
	out := make([]digest.Digest, len(im.Layers))
	for i, l := range im.Layers {
		if i == 0 {
			out[i] = l.DiffID
			continue
		}
		out[i] = digest.FromString(out[i-1].String() + " " + l.DiffID.String())
	}
	return out
}

// readBlob reads a small blob (manifest or config) from the store, checking its digest.
func (s *Store) readBlob(d digest.Digest) ([]byte, error) {
	if err := checkDigest(d); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(s.blobPath(d))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: blob %s missing", ErrCorruptStore, d)
	}
	if err != nil {
		return nil, err
	}
	if got := digest.FromBytes(b); got != d {
		return nil, fmt.Errorf("%w: %w", ErrCorruptStore, &DigestError{Want: d, Got: got, WantSize: -1, Read: int64(len(b))})
	}
	return b, nil
}

// load reads the image an index.json entry points to.
func (s *Store) load(desc v1.Descriptor) (*Image, error) {
	mdig := toDigest(desc.Digest)
	raw, err := s.readBlob(mdig)
	if err != nil {
		return nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: manifest %s: %v", ErrCorruptStore, mdig, err)
	}
	cdig := toDigest(m.Config.Digest)
	rawCfg, err := s.readBlob(cdig)
	if err != nil {
		return nil, err
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(rawCfg))
	if err != nil {
		return nil, fmt.Errorf("%w: config %s: %v", ErrCorruptStore, cdig, err)
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("%w: manifest %s has %d layers, config %d diff_ids", ErrCorruptStore, mdig, len(m.Layers), len(cfg.RootFS.DiffIDs))
	}
	mt := string(m.MediaType)
	if mt == "" {
		mt = string(desc.MediaType)
	}
	im := &Image{
		Name:      desc.Annotations[RefNameAnnotation],
		Digest:    mdig,
		ID:        cdig,
		MediaType: mt,
		Platform:  platformOf(cfg),
		Size:      int64(len(raw)) + int64(len(rawCfg)),
		Config:    *cfg,
	}
	for i, l := range m.Layers {
		im.Layers = append(im.Layers, Layer{
			Digest:    toDigest(l.Digest),
			DiffID:    toDigest(cfg.RootFS.DiffIDs[i]),
			MediaType: string(l.MediaType),
			Size:      l.Size,
		})
		im.Size += l.Size
	}
	return im, nil
}

// entriesLocked reads index.json (a consistent snapshot: it is replaced by rename).
func (s *Store) entries() ([]v1.Descriptor, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	return idx.Manifests, nil
}

// namesOf returns the sorted names of the entries pointing at manifest d.
func namesOf(entries []v1.Descriptor, d digest.Digest) []string {
	var names []string
	for _, e := range entries {
		if toDigest(e.Digest) == d {
			if n := e.Annotations[RefNameAnnotation]; n != "" {
				names = append(names, n)
			}
		}
	}
	sort.Strings(names)
	return names
}

// Image looks an image up in the store (no network). ref may be a name, full
// ("docker.io/library/busybox:latest") or short ("busybox"), a name@digest, a manifest
// digest ("sha256:…"), an image ID (config digest) or a unique prefix of one, with or
// without "sha256:" (docker's 12 hex digits). A name wins over an ID prefix. Errors wrap
// ErrImageNotFound or ErrAmbiguous and name ref.
func (s *Store) Image(ctx context.Context, ref string) (*Image, error) {
	entries, err := s.entries()
	if err != nil {
		return nil, fmt.Errorf("registry: image %s: %w", ref, err)
	}
	matches, byName, err := s.match(entries, ref)
	if err != nil {
		return nil, fmt.Errorf("registry: image %s: %w", ref, err)
	}
	return s.loadMatch(entries, matches, byName, ref)
}

func (s *Store) loadMatch(entries []v1.Descriptor, matches []v1.Descriptor, byName bool, ref string) (*Image, error) {
	im, err := s.load(matches[0])
	if err != nil {
		return nil, fmt.Errorf("registry: image %s: %w", ref, err)
	}
	im.Names = namesOf(entries, im.Digest)
	if !byName && len(im.Names) > 0 {
		im.Name = im.Names[0]
	}
	return im, nil
}

// match finds the index entries ref denotes: by name (byName true: exactly one entry), or
// else by digest or ID (prefix): every entry of the one matching manifest.
func (s *Store) match(entries []v1.Descriptor, ref string) (matches []v1.Descriptor, byName bool, err error) {
	if r, perr := parseRef(ref); perr == nil {
		norm := normalized(r)
		for _, e := range entries {
			if e.Annotations[RefNameAnnotation] == norm {
				return []v1.Descriptor{e}, true, nil
			}
		}
		// name@digest stored under another name of the same repository (or a tag).
		if at := strings.LastIndex(norm, "@"); at > 0 {
			repo, dig := norm[:at], norm[at+1:]
			for _, e := range entries {
				n := e.Annotations[RefNameAnnotation]
				if e.Digest.String() == dig && repoOf(n) == repo {
					return []v1.Descriptor{e}, false, nil
				}
			}
		}
	}
	hexPart := strings.TrimPrefix(ref, "sha256:")
	if !isHex(hexPart) || len(hexPart) < 4 {
		return nil, false, fmt.Errorf("%w", ErrImageNotFound)
	}
	// Manifest digests match in full only; image IDs by prefix.
	found := map[digest.Digest][]v1.Descriptor{}
	for _, e := range entries {
		if e.Digest.Hex == hexPart {
			found[toDigest(e.Digest)] = append(found[toDigest(e.Digest)], e)
		}
	}
	if len(found) == 0 {
		for _, e := range entries {
			id, err := s.configDigest(toDigest(e.Digest))
			if err != nil {
				continue
			}
			if strings.HasPrefix(id.Encoded(), hexPart) {
				found[toDigest(e.Digest)] = append(found[toDigest(e.Digest)], e)
			}
		}
	}
	switch len(found) {
	case 0:
		return nil, false, ErrImageNotFound
	case 1:
		for _, es := range found {
			return es, false, nil
		}
	}
	// Two manifests with one config (e.g. re-compressed) count as one image.
	ids := map[digest.Digest]bool{}
	var first []v1.Descriptor
	for _, es := range found {
		id, _ := s.configDigest(toDigest(es[0].Digest))
		ids[id] = true
		first = es
	}
	if len(ids) > 1 {
		return nil, false, fmt.Errorf("%w: %d images match", ErrAmbiguous, len(ids))
	}
	return first, false, nil
}

// configDigest reads manifest d and returns its config digest.
func (s *Store) configDigest(d digest.Digest) (digest.Digest, error) {
	raw, err := s.readBlob(d)
	if err != nil {
		return "", err
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return "", err
	}
	return toDigest(m.Config.Digest), nil
}

func repoOf(name string) string {
	if at := strings.LastIndex(name, "@"); at > 0 {
		return name[:at]
	}
	if c := strings.LastIndex(name, ":"); c > strings.LastIndex(name, "/") {
		return name[:c]
	}
	return name
}

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return s != ""
}

// List returns every image in the store, one per manifest (an image with several names
// appears once, with all of them in Names), ordered by first name.
func (s *Store) List(ctx context.Context) ([]*Image, error) {
	entries, err := s.entries()
	if err != nil {
		return nil, fmt.Errorf("registry: list: %w", err)
	}
	seen := map[v1.Hash]bool{}
	var out []*Image
	for _, e := range entries {
		if seen[e.Digest] {
			continue
		}
		seen[e.Digest] = true
		im, err := s.load(e)
		if err != nil {
			return nil, fmt.Errorf("registry: list: %s: %w", e.Annotations[RefNameAnnotation], err)
		}
		im.Names = namesOf(entries, im.Digest)
		if len(im.Names) > 0 {
			im.Name = im.Names[0]
		}
		out = append(out, im)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Tag gives the image src (anything Image accepts) the additional name dst, replacing any
// image dst named before. Like `docker tag SRC DST`.
func (s *Store) Tag(ctx context.Context, src, dst string) error {
	r, err := parseRef(dst)
	if err != nil {
		return fmt.Errorf("registry: tag %s %s: %w", src, dst, err)
	}
	norm := normalized(r)
	return s.updateIndex(func(idx *v1.IndexManifest) error {
		matches, _, err := s.match(idx.Manifests, src)
		if err != nil {
			return fmt.Errorf("registry: tag %s %s: %w", src, norm, err)
		}
		d := matches[0]
		d.Annotations = map[string]string{RefNameAnnotation: norm}
		setEntry(idx, d)
		return nil
	})
}

// Remove deletes a name from the store. With a name, only that name goes; with
// repo@digest, that repository's names of the image; with a digest or ID, every name of
// that image goes. Blobs stay until Prune. Like `docker rmi` without the
// layer cleanup.
func (s *Store) Remove(ctx context.Context, ref string) error {
	return s.updateIndex(func(idx *v1.IndexManifest) error {
		matches, byName, err := s.match(idx.Manifests, ref)
		if err != nil {
			return fmt.Errorf("registry: remove %s: %w", ref, err)
		}
		// repo@digest names one repository's reference to the image: only that
		// repository's names of it go, not every name the image has.
		repo := ""
		if r, err := parseRef(ref); err == nil && !byName {
			if norm := normalized(r); strings.Contains(norm, "@") {
				repo = norm[:strings.LastIndex(norm, "@")]
			}
		}
		out := idx.Manifests[:0]
		for _, e := range idx.Manifests {
			drop := false
			switch {
			case byName:
				drop = e.Annotations[RefNameAnnotation] == matches[0].Annotations[RefNameAnnotation]
			case repo != "":
				drop = e.Digest == matches[0].Digest && repoOf(e.Annotations[RefNameAnnotation]) == repo
			default:
				drop = e.Digest == matches[0].Digest
			}
			if !drop {
				out = append(out, e)
			}
		}
		idx.Manifests = out
		return nil
	})
}
