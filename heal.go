package skiff

import (
	"context"
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
		debug("containers", e.checkContainers(ctx, &CheckReport{}, true))
	}
	debug("build cache", e.checkBuildCache(ctx, &CheckReport{}, true))
}
