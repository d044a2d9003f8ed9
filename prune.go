package skiff

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/opencontainers/go-digest"

	"github.com/skiffrt/skiff/overlay"
	"github.com/skiffrt/skiff/registry"
)

// PruneReport says what a prune removed, in the words `docker ... prune` prints.
type PruneReport struct {
	Containers []string        // IDs of the containers removed
	Images     []string        // names of the images removed (untagged)
	ImageIDs   []digest.Digest // IDs of the images removed
	Layers     []digest.Digest // chain IDs of the unpacked layers removed
	Blobs      []digest.Digest // blobs removed from the image store
	Networks   []string        // networks removed
	BuildCache []digest.Digest // layer blobs of the build cache removed
	Reclaimed  int64           // bytes freed on disk
}

func (r *PruneReport) add(o *PruneReport) {
	r.Containers = append(r.Containers, o.Containers...)
	r.Images = append(r.Images, o.Images...)
	r.ImageIDs = append(r.ImageIDs, o.ImageIDs...)
	r.Layers = append(r.Layers, o.Layers...)
	r.Blobs = append(r.Blobs, o.Blobs...)
	r.Networks = append(r.Networks, o.Networks...)
	r.BuildCache = append(r.BuildCache, o.BuildCache...)
	r.Reclaimed += o.Reclaimed
}

// PruneImagesOptions tune Engine.PruneImages. The zero value removes dangling images only.
type PruneImagesOptions struct {
	// All removes every image no container was created from, named or not
	// (`docker image prune -a`).
	All bool
}

// PruneImages removes dangling images (those without a name) or, with All, every image no
// container was created from, then collects what nothing references any more: unpacked
// layers that are neither a layer of a stored image (registry.Image.ChainIDs) nor of a
// container (State.Layers), and blobs of the image store (registry.Store.Prune).
// `docker image prune [-a]`.
func (e *Engine) PruneImages(ctx context.Context, opts PruneImagesOptions) (*PruneReport, error) {
	e.heal(ctx)
	all := opts.All
	imgs, err := e.images.List(ctx)
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	if all {
		cs, err := e.Containers(ctx)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			used[c.st.ImageID] = true
		}
	}
	rep := &PruneReport{}
	for _, img := range imgs {
		if len(img.Names) > 0 && (!all || used[img.ID.String()]) {
			continue
		}
		if err := e.images.Remove(ctx, img.Digest.String()); err != nil {
			return rep, fmt.Errorf("prune images: %w", err)
		}
		rep.Images = append(rep.Images, img.Names...)
		rep.ImageIDs = append(rep.ImageIDs, img.ID)
	}
	gc, err := e.collect(ctx)
	if err != nil {
		return rep, err
	}
	rep.add(gc)
	return rep, nil
}

// collect removes unpacked layers no image and no container references, then the image
// store's unreferenced blobs and stray temp files.
func (e *Engine) collect(ctx context.Context) (*PruneReport, error) {
	rep, err := e.collectLayers(ctx)
	if err != nil {
		return rep, fmt.Errorf("prune layers in %s: %w", e.layers.Root(), err)
	}
	br, err := e.images.Prune(ctx)
	if err != nil {
		return rep, err
	}
	rep.Blobs = br.Blobs
	rep.Reclaimed += br.Reclaimed
	return rep, nil
}

// collectLayers holds the root lock (no Create in the middle of mounting layers) and the
// image store's GC lock (no pull in flight: a layer it unpacks is referenced only once its
// image is named) while it decides and removes.
func (e *Engine) collectLayers(ctx context.Context) (*PruneReport, error) {
	rep := &PruneReport{}
	// The image store's GC lock is shared while blobs are written and while a build runs,
	// exclusive for a collector. Released before images.Prune takes it again. Taken
	// before the root lock: a build holding it shared takes the root lock briefly.
	unlockGC, err := e.images.LockGC(ctx, registry.GCExclusive)
	if err != nil {
		return rep, err
	}
	defer unlockGC()
	unlock, err := e.lockRoot()
	if err != nil {
		return rep, err
	}
	defer unlock()

	keep, err := e.referencedLayers(ctx, false)
	if err != nil {
		return rep, err
	}
	layers, err := e.layers.List()
	if err != nil {
		return rep, err
	}
	for _, l := range layers {
		if keep[l] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		size := diskUsage(e.layers.Dir(l))
		if err := e.layers.Remove(ctx, l); err != nil && !errors.Is(err, overlay.ErrLayerNotFound) {
			return rep, err
		}
		rep.Layers = append(rep.Layers, l)
		rep.Reclaimed += size
	}
	return rep, nil
}

// PruneContainers removes every exited container (`docker container prune`).
func (e *Engine) PruneContainers(ctx context.Context) (*PruneReport, error) {
	cs, err := e.Containers(ctx)
	if err != nil {
		return nil, err
	}
	rep := &PruneReport{}
	var errs []error
	for _, c := range cs {
		if c.State().Status != StatusExited {
			continue
		}
		size := diskUsage(filepath.Join(e.ctrs.path(c.ID()), "upper"))
		if err := c.Delete(ctx); err != nil {
			errs = append(errs, err)
			continue
		}
		rep.Containers = append(rep.Containers, c.ID())
		rep.Reclaimed += size
	}
	return rep, errors.Join(errs...)
}

// PruneBuildCache empties the build cache under Root()/build-cache (`docker builder prune
// -a`): the recorded steps, their layer blobs and what killed builds left, so the next
// build runs every step. Images already built keep their layers. It waits for builds and
// commits in flight (builder.Builder.Prune).
func (e *Engine) PruneBuildCache(ctx context.Context) (*PruneReport, error) {
	rep := &PruneReport{}
	if _, err := os.Stat(e.buildCache()); errors.Is(err, os.ErrNotExist) {
		return rep, nil // never built
	}
	b, err := e.builder()
	if err != nil {
		return nil, err
	}
	br, err := b.Prune(ctx)
	if br != nil {
		rep.BuildCache, rep.Reclaimed = br.Blobs, br.Reclaimed
	}
	return rep, err
}

// PruneSystemOptions tune Engine.PruneSystem. The zero value removes dangling images only.
type PruneSystemOptions struct {
	// All removes every image no container was created from, not only dangling ones
	// (`docker system prune -a`).
	All bool
}

// PruneSystem removes exited containers, networks no container uses (but the default
// one), and dangling images (every unused image with All) with the layers and blobs they
// leave unreferenced. `docker system prune [-a]`.
func (e *Engine) PruneSystem(ctx context.Context, opts PruneSystemOptions) (*PruneReport, error) {
	rep, err := e.PruneContainers(ctx)
	if err != nil {
		return rep, err
	}
	nets, err := e.net.Prune(ctx)
	rep.Networks = nets
	if err != nil {
		return rep, err
	}
	ir, err := e.PruneImages(ctx, PruneImagesOptions{All: opts.All})
	if ir != nil {
		rep.add(ir)
	}
	return rep, err
}

// DiskUsage is what the engine root holds, by kind (`docker system df`). Sizes are bytes
// on disk; Reclaimable is what a prune would free.
type DiskUsage struct {
	Images, Containers, Volumes, BuildCache UsageLine
}

// UsageLine is one line of DiskUsage.
type UsageLine struct {
	Total, Active int   // how many, and how many in use
	Size          int64 // bytes on disk
	Reclaimable   int64 // bytes not used by anything active
}

// DiskUsage measures the root: images (their blobs and unpacked layers; active when a
// container uses them), containers (their writable upper dirs; active when running or
// paused), named volumes and the build cache.
func (e *Engine) DiskUsage(ctx context.Context) (*DiskUsage, error) {
	du := &DiskUsage{}
	imgs, err := e.images.List(ctx)
	if err != nil {
		return nil, err
	}
	cs, err := e.Containers(ctx)
	if err != nil {
		return nil, err
	}
	usedImage := map[string]bool{}
	usedLayer := map[digest.Digest]bool{}
	for _, c := range cs {
		st := c.State()
		usedImage[st.ImageID] = true
		for _, l := range st.Layers {
			usedLayer[digest.Digest(l)] = true
		}
		size := diskUsage(filepath.Join(e.ctrs.path(st.ID), "upper"))
		du.Containers.Total++
		du.Containers.Size += size
		if st.Status == StatusRunning || st.Status == StatusPaused {
			du.Containers.Active++
		} else {
			du.Containers.Reclaimable += size
		}
	}
	usedBlob := map[digest.Digest]bool{}
	for _, img := range imgs {
		du.Images.Total++
		if usedImage[img.ID.String()] {
			du.Images.Active++
			usedBlob[img.Digest], usedBlob[img.ID] = true, true
			for _, l := range img.Layers {
				usedBlob[l.Digest] = true
			}
		}
	}
	blobs, err := e.images.Blobs(ctx)
	if err != nil {
		return nil, err
	}
	for _, b := range blobs {
		du.Images.Size += b.Disk
		if !usedBlob[b.Digest] {
			du.Images.Reclaimable += b.Disk
		}
	}
	layers, err := e.layers.List()
	if err != nil {
		return nil, err
	}
	for _, l := range layers {
		size := diskUsage(e.layers.Dir(l))
		du.Images.Size += size
		if !usedLayer[l] {
			du.Images.Reclaimable += size
		}
	}
	vols, _ := os.ReadDir(filepath.Join(e.root, "volumes"))
	for _, v := range vols {
		if v.IsDir() && !strings.HasPrefix(v.Name(), ".") {
			du.Volumes.Total++
			size := diskUsage(filepath.Join(e.root, "volumes", v.Name()))
			du.Volumes.Size += size
			du.Volumes.Reclaimable += size
		}
	}
	if size := diskUsage(e.buildCache()); size > 0 {
		du.BuildCache.Total = 1
		du.BuildCache.Size, du.BuildCache.Reclaimable = size, size
	}
	return du, nil
}

// diskUsage is `du -s` in bytes: allocated blocks of everything under dir, hard links
// counted once. A missing dir is 0.
func diskUsage(dir string) int64 {
	var total int64
	seen := map[uint64]bool{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 && !d.IsDir() {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		total += blockSize(info)
		return nil
	})
	return total
}

func blockSize(info fs.FileInfo) int64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return info.Size()
}
