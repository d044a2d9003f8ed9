package builder

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/opencontainers/go-digest"

	"github.com/skiffrt/skiff/registry"
)

// PruneReport says what Prune removed from the build cache.
type PruneReport struct {
	Entries   int             // recorded steps forgotten
	Blobs     []digest.Digest // layer blobs removed, sorted
	Temps     []string        // temps of killed builds removed
	Reclaimed int64           // bytes freed on disk
}

// Prune empties the build cache (`docker builder prune -a`): every recorded step, the
// layer blobs they name and what killed builds left. The next build of any Dockerfile
// runs every step again. Images already built keep their layers: the image store has
// its own copy of each blob. Prune takes the image store's GC lock exclusive, so it
// waits (until ctx ends) for builds and commits in flight and none starts meanwhile.
func (b *Builder) Prune(ctx context.Context) (*PruneReport, error) {
	release, err := b.cfg.Images.LockGC(ctx, registry.GCExclusive)
	if err != nil {
		return nil, fmt.Errorf("prune build cache: %w", err)
	}
	defer release()
	// Temps first: with the lock held, every one is stale (see Check).
	check, err := b.checkLocked(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("prune build cache: %w", err)
	}
	rep := &PruneReport{Temps: check.Temps}
	keys := filepath.Join(b.cfg.CacheDir, "keys")
	err = filepath.WalkDir(keys, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rep.Reclaimed += allocated(d)
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if strings.HasSuffix(d.Name(), ".json") {
			rep.Entries++
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("prune build cache %s: %w", b.cfg.CacheDir, err)
	}
	// The fan-out dirs under keys/ go too (the layout stays: keys/ itself is kept).
	subs, _ := os.ReadDir(keys)
	for _, s := range subs {
		if s.IsDir() {
			os.Remove(filepath.Join(keys, s.Name())) // only if empty
		}
	}
	blobs := filepath.Join(b.cfg.CacheDir, "blobs", "sha256")
	ents, err := os.ReadDir(blobs)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return rep, fmt.Errorf("prune build cache %s: %w", b.cfg.CacheDir, err)
	}
	for _, e := range ents {
		d := digest.NewDigestFromEncoded(digest.SHA256, e.Name())
		if !e.Type().IsRegular() || d.Validate() != nil {
			continue // not a blob of this cache
		}
		size := allocated(e)
		if err := os.Remove(filepath.Join(blobs, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return rep, fmt.Errorf("prune build cache %s: %w", b.cfg.CacheDir, err)
		}
		rep.Blobs = append(rep.Blobs, d)
		rep.Reclaimed += size
	}
	slices.Sort(rep.Blobs)
	b.log.Debug("build cache pruned", "entries", rep.Entries, "blobs", len(rep.Blobs), "bytes", rep.Reclaimed)
	return rep, nil
}

// allocated is the bytes a directory entry takes on disk (its blocks).
func allocated(d fs.DirEntry) int64 {
	fi, err := d.Info()
	if err != nil {
		return 0
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return fi.Size()
}
