package builder

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/sys/mountinfo"

	"github.com/skiffrt/skiff/overlay"
)

// tempPrefix starts the name of every temp file and dir a build makes in the cache:
//
//	<TempDir>/.tmp-build-*, .tmp-commit-*, .tmp-add-*  step snapshots (mounted while
//	                                                    a step runs), commit dirs, ADD downloads
//	<CacheDir>/blobs/.tmp-blob-*                       a layer blob being compressed
//	<CacheDir>/keys/<xx>/.tmp-key-*                    a cache entry being recorded
const tempPrefix = ".tmp-"

// CheckReport is what Check found in the build cache.
type CheckReport struct {
	// Temps are temp dirs and files of builds that no longer run (a build or commit
	// killed mid-step): step snapshots, possibly still mounted, commit dirs, ADD
	// downloads, half-written blobs and cache entries.
	Temps []string
}

// Clean reports whether Check found nothing to repair.
func (r *CheckReport) Clean() bool { return len(r.Temps) == 0 }

// Check looks for what a killed build left in the cache and, with repair, unmounts
// and removes it. Every build and commit holds the image store's GC lock shared from
// before it makes its first temp until its last is gone, so Check looks only when it
// can take that lock exclusive at once: then every temp there is stale. While a build
// or a pull runs, Check reports nothing (their temps are theirs). With repair the
// report lists what was there before the repair.
func (b *Builder) Check(ctx context.Context, repair bool) (*CheckReport, error) {
	unlock, ok := b.exclusiveNow()
	if !ok {
		b.log.Debug("build cache check: a build or pull runs; its temps are left alone")
		return &CheckReport{}, nil
	}
	defer unlock()
	return b.checkLocked(ctx, repair)
}

// checkLocked is Check with the GC lock held exclusive.
func (b *Builder) checkLocked(ctx context.Context, repair bool) (*CheckReport, error) {
	rep := &CheckReport{}
	dirs := []string{b.cfg.CacheDir, filepath.Join(b.cfg.CacheDir, "blobs")}
	if filepath.Clean(b.cfg.TempDir) != filepath.Clean(b.cfg.CacheDir) {
		dirs = append(dirs, b.cfg.TempDir)
	}
	keys, err := os.ReadDir(filepath.Join(b.cfg.CacheDir, "keys"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("check build cache %s: %w", b.cfg.CacheDir, err)
	}
	for _, k := range keys {
		if k.IsDir() {
			dirs = append(dirs, filepath.Join(b.cfg.CacheDir, "keys", k.Name()))
		}
	}
	for _, dir := range dirs {
		ents, err := os.ReadDir(dir)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("check build cache %s: %w", b.cfg.CacheDir, err)
		}
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), tempPrefix) {
				rep.Temps = append(rep.Temps, filepath.Join(dir, e.Name()))
			}
		}
	}
	slices.Sort(rep.Temps)
	if !repair {
		return rep, nil
	}
	var errs []error
	for _, t := range rep.Temps {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		errs = append(errs, removeTemp(t))
	}
	if err := errors.Join(errs...); err != nil {
		return rep, fmt.Errorf("check build cache %s: %w", b.cfg.CacheDir, err)
	}
	return rep, nil
}

// removeTemp unmounts whatever is mounted under a temp (deepest first) and removes it.
func removeTemp(p string) error {
	mounts, err := mountinfo.GetMounts(func(m *mountinfo.Info) (skip, stop bool) {
		return m.Mountpoint != p && !strings.HasPrefix(m.Mountpoint, p+"/"), false
	})
	if err != nil {
		return err
	}
	slices.SortFunc(mounts, func(a, b *mountinfo.Info) int { return len(b.Mountpoint) - len(a.Mountpoint) })
	for _, m := range mounts {
		if err := overlay.Unmount(m.Mountpoint); err != nil {
			return err
		}
	}
	return os.RemoveAll(p)
}
