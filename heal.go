package skiff

import (
	"context"
	"errors"
	"os"
	"path/filepath"
)

// heal removes what processes killed on this root left behind, so that the store stays
// clean without anyone running Check: blob and index temps whose writer is gone
// (registry.Store.SweepTemps), layer temps no unpack holds (overlay.Store.Check),
// volume temps, the build cache's temps when no build or pull runs, half-created and
// lost containers with their mounts, cgroups and network endpoints. Each part knows its
// live writers by the locks they hold, so heal is safe while other processes work on
// the root. Pull, Build and the prunes call it first; a failure is logged, never
// returned: healing must not stop the operation the user asked for.
func (e *Engine) heal(ctx context.Context) {
	if e.rootless {
		return
	}
	debug := func(what string, err error) {
		if err != nil {
			e.log.Debug("heal: "+what, "err", err)
		}
	}
	removed, err := e.images.SweepTemps()
	debug("image store temps", err)
	for _, p := range removed {
		e.log.Info("removed an abandoned image store temp", "path", p)
	}
	_, err = e.layers.Check(ctx, true)
	debug("layer temps", err)
	_, err = e.vols.check(true)
	debug("volume temps", err)
	if _, serr := os.Stat(filepath.Join(e.root, "containers")); serr == nil {
		rep := &CheckReport{}
		debug("containers", e.checkContainers(ctx, rep, true))
		debug("lost --rm containers", e.removeLostAutoRemove(ctx, rep.Lost))
	}
	debug("build cache", e.checkBuildCache(ctx, &CheckReport{}, true))
}

// abandonedRm reports whether st is an exited AutoRemove container whose remover (the
// process that ran it, or its monitor) is gone without removing it: a `run --rm` killed
// between the container's exit and its removal.
func abandonedRm(st *State) bool {
	return st.AutoRemove && st.Status == StatusExited && !st.Restarting && st.Owner > 0 && !alive(st.Owner)
}

// removeLostAutoRemove deletes, among the lost containers ids that Check has just
// recorded as exited, those created with AutoRemove (`run --rm` whose process was
// killed): nobody is left to remove them, and a --rm container is not meant to stay.
// Deleted as Delete does (its lifecycle lock, its anonymous volumes), after Check has
// released the root lock that a volume removal takes.
func (e *Engine) removeLostAutoRemove(ctx context.Context, ids []string) error {
	var errs []error
	for _, id := range ids {
		st, err := e.ctrs.load(id)
		if err != nil || !st.AutoRemove || st.Status != StatusExited {
			continue
		}
		c, err := e.Container(ctx, id)
		if err != nil {
			continue // removed meanwhile
		}
		if err := c.Delete(ctx, WithForce(), WithVolumes()); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, err)
			continue
		}
		e.log.Info("removed a lost --rm container", "id", shortID(id))
	}
	return errors.Join(errs...)
}
