package skiff

import (
	"context"
	"errors"

	"github.com/opencontainers/go-digest"

	"github.com/skiffrt/skiff/internal/exhausted"
	"github.com/skiffrt/skiff/overlay"
	"github.com/skiffrt/skiff/registry"
)

// Errors of an exhausted host, of class errdefs.ErrResourceExhausted. Pull, Build and
// Commit wrap them when the root's file system is full or the process has no file
// descriptor left; the message names the file or directory (and errors.Is finds the
// errno, syscall.ENOSPC or EMFILE, too). The store is left as it was: no image, blob,
// layer or temp of the failed operation stays.
var (
	// ErrNoSpace: the root's file system is full (ENOSPC, EDQUOT).
	ErrNoSpace = exhausted.ErrNoSpace
	// ErrTooManyFiles: no file descriptor is left (EMFILE, ENFILE).
	ErrTooManyFiles = exhausted.ErrTooManyFiles
)

// failed marks err as ErrNoSpace or ErrTooManyFiles when it is one, and then removes
// the temps that the failed operation could not remove itself (a full descriptor table
// fails the removal of a temp dir, which needs descriptors of its own): blob temps, layer
// temps and build temps that no process holds any more, as heal does before the next
// operation.
// It returns the marked err; nil stays nil and sweeps nothing.
func (e *Engine) failed(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	err = exhausted.Mark(err)
	if e.rootless {
		return err
	}
	if _, serr := e.images.SweepTemps(); serr != nil {
		e.log.Debug("sweep image store temps after a failure", "err", serr)
	}
	if _, serr := e.layers.Check(context.WithoutCancel(ctx), true); serr != nil {
		e.log.Debug("sweep layer temps after a failure", "err", serr)
	}
	// A build's temps, when no build or pull runs (the build cache's own check waits
	// for none; it looks only while the GC lock is free).
	if serr := e.checkBuildCache(context.WithoutCancel(ctx), &CheckReport{}, true); serr != nil {
		e.log.Debug("sweep build temps after a failure", "err", serr)
	}
	return err
}

// layerSet returns the chain IDs of the unpacked layers (empty when they cannot be
// listed: then a failed pull removes none).
func (e *Engine) layerSet() map[digest.Digest]bool {
	set := map[digest.Digest]bool{}
	ls, err := e.layers.List()
	if err != nil {
		return nil
	}
	for _, l := range ls {
		set[l] = true
	}
	return set
}

// failedPull is failed for a pull that started with the layers had: it also removes
// the layers the pull unpacked before it failed (layers unpack while they download),
// so the store is as it was. Only layers that no image and no container references
// go, and only while no other pull, build or prune runs (the image store's GC lock is
// free and taken exclusively, then the root lock, as PruneImages does); otherwise they
// stay for the next prune.
func (e *Engine) failedPull(ctx context.Context, err error, had map[digest.Digest]bool) error {
	if err == nil {
		return nil
	}
	if had != nil && !e.rootless {
		if rerr := e.dropNewLayers(context.WithoutCancel(ctx), had); rerr != nil {
			e.log.Debug("remove the layers of a failed pull", "err", rerr)
		}
	}
	// Then the temps, a removal's among them (a layer is renamed aside, then removed).
	return e.failed(ctx, err)
}

func (e *Engine) dropNewLayers(ctx context.Context, had map[digest.Digest]bool) error {
	now, err := e.layers.List()
	if err != nil {
		return err
	}
	var made []digest.Digest
	for _, l := range now {
		if !had[l] {
			made = append(made, l)
		}
	}
	if len(made) == 0 {
		return nil
	}
	release, ok, err := e.images.TryLockGC(registry.GCExclusive)
	if err != nil || !ok {
		return err
	}
	defer release()
	unlock, err := e.lockRoot()
	if err != nil {
		return err
	}
	defer unlock()
	keep, err := e.referencedLayers(ctx, true)
	if err != nil {
		return err
	}
	var errs []error
	for _, l := range made {
		if keep[l] {
			continue
		}
		if err := e.layers.Remove(ctx, l); err != nil && !errors.Is(err, overlay.ErrLayerNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// referencedLayers returns the chain IDs that images and containers of the root use.
// A container whose state cannot be read (being created, or half-created) is an error
// when strict (the caller then keeps every layer, to be safe), and is skipped
// otherwise (Check removes it). The caller holds the GC and root locks.
func (e *Engine) referencedLayers(ctx context.Context, strict bool) (map[digest.Digest]bool, error) {
	keep := map[digest.Digest]bool{}
	imgs, err := e.images.List(ctx)
	if err != nil {
		return nil, err
	}
	for _, img := range imgs {
		for _, c := range img.ChainIDs() {
			keep[c] = true
		}
	}
	ids, err := e.ctrs.ids()
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		st, err := e.ctrs.load(id)
		if err != nil {
			if strict {
				return nil, err
			}
			continue
		}
		for _, l := range st.Layers {
			keep[digest.Digest(l)] = true
		}
	}
	return keep, nil
}
