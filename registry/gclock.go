package registry

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/skiffrt/skiff/internal/lockfile"
)

// GCMode says how LockGC and TryLockGC take the store's garbage-collection lock.
type GCMode int

const (
	// GCShared is for work that writes blobs, or unpacks layers, that an image names
	// only once the work is done: a pull, a build, a commit. Any number of shared
	// holders run side by side; a collector waits for all of them.
	GCShared GCMode = iota
	// GCExclusive is for a collector (Prune, Check, and the engine's collection of
	// unpacked layers): it decides what nothing references, which holds only while
	// no writer is between writing a blob and naming it.
	GCExclusive
)

func (m GCMode) lockMode() lockfile.Mode {
	if m == GCExclusive {
		return lockfile.Exclusive
	}
	return lockfile.Shared
}

// String returns "shared" or "exclusive".
func (m GCMode) String() string {
	if m == GCExclusive {
		return "exclusive"
	}
	return "shared"
}

// LockGC takes the store's garbage-collection lock in mode m, waiting for holders of
// the other mode until ctx ends, and returns its release (safe to call more than
// once). The lock works across processes: it is an flock(2) on a file of the layout
// dir that OCI tools ignore. Pull and the writes of this package take it shared
// themselves, Prune and Check exclusive; a caller that writes content an image will
// name later (layers unpacked for a build) or that collects content images no longer
// name (unpacked layers) takes it around that work. A cancelled wait returns an error
// wrapping ctx.Err().
func (s *Store) LockGC(ctx context.Context, m GCMode) (release func(), err error) {
	if ctx == nil {
		ctx = context.Background()
	}
	l, err := lockfile.Acquire(ctx, filepath.Join(s.dir, gcLock), m.lockMode())
	if err != nil {
		return nil, fmt.Errorf("registry: gc lock (%s): %w", m, err)
	}
	return l.Unlock, nil
}

// TryLockGC takes the garbage-collection lock in mode m only if no holder of the other
// mode has it (no holder at all, for GCExclusive). ok is false when it is held; release
// is then nil. A collector that must not wait uses it: a build's cleanup removes its
// own unused layers only when no other build or pull runs.
func (s *Store) TryLockGC(m GCMode) (release func(), ok bool, err error) {
	l, err := lockfile.TryLock(filepath.Join(s.dir, gcLock), m.lockMode())
	if errors.Is(err, lockfile.ErrLocked) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("registry: gc lock (%s): %w", m, err)
	}
	return l.Unlock, true, nil
}
