package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/go-digest"
)

// PruneReport says what Prune removed.
type PruneReport struct {
	Blobs     []digest.Digest // unreferenced blobs removed
	Temps     []string        // stray temp files removed (left by a killed process)
	Reclaimed int64           // bytes freed
}

// Prune removes every blob no index.json entry references (through its manifest, config
// and layers; nested indexes are followed) and every temp file a killed pull or write left.
// It waits for pulls and writes in flight (theirs is a shared lock, Prune's exclusive), so it
// never deletes a blob about to be referenced. Unpacked layers are the engine's to collect:
// their chain IDs are in List()'s [Image.ChainIDs]. Like `docker image prune` for the blobs.
func (s *Store) Prune(ctx context.Context) (*PruneReport, error) {
	release, err := s.LockGC(ctx, GCExclusive)
	if err != nil {
		return nil, fmt.Errorf("registry: prune: %w", err)
	}
	defer release()
	rep := &PruneReport{}
	err = s.withIndexLock(func() error {
		refs, err := s.referenced()
		if err != nil {
			return err
		}
		temps, blobs, err := s.scan()
		if err != nil {
			return err
		}
		for _, p := range temps {
			if err := os.Remove(p); err == nil {
				rep.Temps = append(rep.Temps, p)
			}
		}
		for d, size := range blobs {
			if refs[d] {
				continue
			}
			if err := os.Remove(s.blobPath(d)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			rep.Blobs = append(rep.Blobs, d)
			rep.Reclaimed += size
		}
		return syncDir(s.blobDir())
	})
	if err != nil {
		return nil, fmt.Errorf("registry: prune %s: %w", s.dir, err)
	}
	sort.Slice(rep.Blobs, func(i, j int) bool { return rep.Blobs[i] < rep.Blobs[j] })
	return rep, nil
}

// referenced returns every blob reachable from index.json. Missing or unparsable manifests
// are skipped (Check reports them).
func (s *Store) referenced() (map[digest.Digest]bool, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	refs := map[digest.Digest]bool{}
	var walk func(d v1.Descriptor, depth int)
	walk = func(d v1.Descriptor, depth int) {
		dg := toDigest(d.Digest)
		if refs[dg] || depth > 8 {
			return
		}
		refs[dg] = true
		switch {
		case d.MediaType.IsIndex():
			raw, err := s.readBlob(dg)
			if err != nil {
				return
			}
			im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
			if err != nil {
				return
			}
			for _, c := range im.Manifests {
				walk(c, depth+1)
			}
		case d.MediaType.IsImage() || d.MediaType == "":
			raw, err := s.readBlob(dg)
			if err != nil {
				return
			}
			m, err := v1.ParseManifest(bytes.NewReader(raw))
			if err != nil {
				return
			}
			refs[toDigest(m.Config.Digest)] = true
			for _, l := range m.Layers {
				refs[toDigest(l.Digest)] = true
			}
		}
	}
	for _, d := range idx.Manifests {
		walk(d, 0)
	}
	return refs, nil
}

// scan lists temp files (layout dir and blobs/sha256) and blobs with their sizes.
func (s *Store) scan() (temps []string, blobs map[digest.Digest]int64, err error) {
	blobs = map[digest.Digest]int64{}
	for _, dir := range []string{s.dir, s.blobDir()} {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return nil, nil, err
		}
		for _, e := range ents {
			p := filepath.Join(dir, e.Name())
			if strings.HasPrefix(e.Name(), tmpPrefix) {
				temps = append(temps, p)
				continue
			}
			if dir != s.blobDir() || !e.Type().IsRegular() {
				continue
			}
			d := digest.NewDigestFromEncoded(digest.SHA256, e.Name())
			if checkDigest(d) != nil {
				continue // not ours; leave it
			}
			fi, err := e.Info()
			if err != nil {
				continue
			}
			blobs[d] = fi.Size()
		}
	}
	return temps, blobs, nil
}

// CheckReport is what Check found.
type CheckReport struct {
	Images       int             // index.json entries
	Blobs        int             // blobs present
	Missing      []digest.Digest // referenced but absent: the images using them need a new pull
	Corrupt      []digest.Digest // content does not hash to the name (removed by repair)
	Unreferenced []digest.Digest // present, referenced by nothing (Prune removes them)
	Temps        []string        // temp files left by a killed process (removed by repair)
}

// Clean reports whether the store has no problem (unreferenced blobs are not a problem).
func (r *CheckReport) Clean() bool {
	return len(r.Missing) == 0 && len(r.Corrupt) == 0 && len(r.Temps) == 0
}

// Check verifies the store like fsck: index.json parses, every referenced blob exists and
// hashes to its name, and no temp file is left. With repair it removes temp files and
// corrupt blobs (so the next Pull fetches them again); the report says what it found before
// repairing. It waits for pulls and writes in flight. Errors wrap ErrCorruptStore when
// index.json itself is unreadable.
func (s *Store) Check(ctx context.Context, repair bool) (*CheckReport, error) {
	release, err := s.LockGC(ctx, GCExclusive)
	if err != nil {
		return nil, fmt.Errorf("registry: check: %w", err)
	}
	defer release()
	rep := &CheckReport{}
	err = s.withIndexLock(func() error {
		idx, err := s.readIndex()
		if err != nil {
			return err
		}
		rep.Images = len(idx.Manifests)
		temps, blobs, err := s.scan()
		if err != nil {
			return err
		}
		rep.Temps = temps
		rep.Blobs = len(blobs)
		for d := range blobs {
			if err := ctx.Err(); err != nil {
				return err
			}
			ok, err := s.verifyBlob(d)
			if err != nil {
				return err
			}
			if !ok {
				rep.Corrupt = append(rep.Corrupt, d)
			}
		}
		bad := map[digest.Digest]bool{}
		for _, d := range rep.Corrupt {
			bad[d] = true
		}
		refs, err := s.referenced()
		if err != nil {
			return err
		}
		for d := range refs {
			if _, ok := blobs[d]; !ok {
				rep.Missing = append(rep.Missing, d)
			}
		}
		for d := range blobs {
			if !refs[d] && !bad[d] {
				rep.Unreferenced = append(rep.Unreferenced, d)
			}
		}
		if repair {
			for _, p := range rep.Temps {
				os.Remove(p)
			}
			for _, d := range rep.Corrupt {
				os.Remove(s.blobPath(d))
			}
			return syncDir(s.blobDir())
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("registry: check %s: %w", s.dir, err)
	}
	for _, l := range [][]digest.Digest{rep.Missing, rep.Corrupt, rep.Unreferenced} {
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	}
	sort.Strings(rep.Temps)
	return rep, nil
}

// verifyBlob hashes a stored blob and compares it with its name.
func (s *Store) verifyBlob(d digest.Digest) (bool, error) {
	f, err := os.Open(s.blobPath(d))
	if err != nil {
		return false, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false, err
	}
	return hex.EncodeToString(h.Sum(nil)) == d.Encoded(), nil
}
