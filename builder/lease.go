package builder

import (
	"context"
	"fmt"

	"github.com/skiffrt/skiff/registry"
)

// A build (or a commit) holds the image store's GC lock shared for its whole life, as a
// pull does while it writes: a garbage collection, which takes it exclusive, waits, so it
// never removes a layer a running build has unpacked but not yet named in an image, and
// never sweeps the build's temp files (see Check). At the end the build lets go and
// removes its own unused layers only if it then gets the lock exclusive without waiting
// — that is, when no other build or pull, which might be using them, runs.

// lease takes the GC lock shared, waiting for a collection in progress until ctx ends.
func (b *Builder) lease(ctx context.Context) (release func(), err error) {
	release, err = b.cfg.Images.LockGC(ctx, registry.GCShared)
	if err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	return release, nil
}

// exclusiveNow takes the GC lock exclusive if nobody holds it; ok false means someone
// does (or the lock could not be opened).
func (b *Builder) exclusiveNow() (release func(), ok bool) {
	release, ok, err := b.cfg.Images.TryLockGC(registry.GCExclusive)
	if err != nil {
		b.log.Warn("build: gc lock", "err", err)
		return nil, false
	}
	return release, ok
}
