package overlay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/skiffrt/skiff/internal/lockfile"
)

// Store is the layer store under <root>/layers:
//
//	layers/<chainID hex>/diff   an unpacked layer (overlay lowerdir)
//	layers/l/<24 hex>           short symlink → ../<chainID hex>/diff
//	layers/empty                empty lower dir for snapshots with no layers
//	layers/locks/<chainID hex>  flock(2) files serialising work on one layer (removed with it)
//	layers/.tmp-*, .rm-*        in-flight unpacks and removals (never visible as layers)
//
// A Store holds no open files and no in-memory state, so any number of Stores
// (in any number of processes) may share one root.
type Store struct {
	root string // <root>/layers, absolute

	noSync    bool // WithoutSync
	userXattr bool // WithUserXattr
}

// Option configures a Store.
type Option func(*Store)

// WithoutSync skips the syncfs(2) that Unpack does before it publishes a
// layer (default: sync). A crash can then leave a visible layer whose files
// are empty or missing, so use it only for stores that are thrown away after
// a crash (CI, tests, benchmarks). On a host with much unrelated dirty data
// on the same file system, syncfs waits for that data too.
func WithoutSync() Option { return func(s *Store) { s.noSync = true } }

// WithUserXattr makes the store usable from a user namespace (rootless): Unpack
// marks opaque directories with user.overlay.opaque instead of
// trusted.overlay.opaque (trusted.* needs CAP_SYS_ADMIN in the initial user
// namespace), and the Mount that Prepare returns has the overlay option
// "userxattr" (Linux ≥ 5.11), so the kernel reads the user.overlay.* names.
// Whiteouts stay 0:0 character devices, which the kernel lets any user create.
// Device nodes of a layer cannot be made without CAP_MKNOD in the initial
// namespace: they are skipped (logged at debug level). Layers unpacked with and
// without this option are not interchangeable: use one setting per store root.
func WithUserXattr() Option { return func(s *Store) { s.userXattr = true } }

const (
	linksDir = "l"
	emptyDir = "empty"
	locksDir = "locks"
	diffDir  = "diff"
	tmpPfx   = ".tmp-"
	rmPfx    = ".rm-"
	shortLen = 24 // hex chars of the chainID used as the short link name
)

// NewStore opens (creating if needed) the layer store under root/layers.
func NewStore(root string, opts ...Option) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("layer store %q: %w", root, err)
	}
	s := &Store{root: filepath.Join(abs, "layers")}
	for _, o := range opts {
		o(s)
	}
	for _, d := range []string{s.root, filepath.Join(s.root, linksDir), filepath.Join(s.root, emptyDir), filepath.Join(s.root, locksDir)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("layer store %q: %w", root, err)
		}
	}
	// Lower dirs must be traversable by container users.
	for _, d := range []string{s.root, filepath.Join(s.root, linksDir), filepath.Join(s.root, emptyDir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			return nil, fmt.Errorf("layer store %q: %w", root, err)
		}
	}
	return s, nil
}

// Root returns the store's directory (<root>/layers).
func (s *Store) Root() string { return s.root }

// checkChainID validates a chainID and returns its hex.
func checkChainID(chainID digest.Digest) (string, error) {
	if err := chainID.Validate(); err != nil {
		return "", fmt.Errorf("chainID %q: %w: %v", chainID, ErrInvalidDigest, err)
	}
	if chainID.Algorithm() != digest.SHA256 {
		return "", fmt.Errorf("chainID %q: %w: want sha256", chainID, ErrInvalidDigest)
	}
	return chainID.Encoded(), nil
}

func (s *Store) layerDir(hex string) string { return filepath.Join(s.root, hex) }

// shortName is the name of a layer's short link under layers/l.
func shortName(hex string) string { return hex[:shortLen] }

// Has reports whether the layer for chainID is unpacked.
func (s *Store) Has(chainID digest.Digest) bool {
	hex, err := checkChainID(chainID)
	if err != nil {
		return false
	}
	fi, err := os.Lstat(filepath.Join(s.layerDir(hex), diffDir))
	return err == nil && fi.IsDir()
}

// Dir returns the layer's diff directory (its overlay lowerdir), whether or not
// it exists. It returns "" for an invalid chainID.
func (s *Store) Dir(chainID digest.Digest) string {
	hex, err := checkChainID(chainID)
	if err != nil {
		return ""
	}
	return filepath.Join(s.layerDir(hex), diffDir)
}

// List returns the chainIDs of all unpacked layers, sorted.
func (s *Store) List() ([]digest.Digest, error) {
	ents, err := os.ReadDir(s.root)
	if err != nil {
		return nil, fmt.Errorf("list layers in %s: %w", s.root, err)
	}
	var out []digest.Digest
	for _, e := range ents {
		d := digest.NewDigestFromEncoded(digest.SHA256, e.Name())
		if !e.IsDir() || d.Validate() != nil {
			continue
		}
		if s.Has(d) {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Remove deletes the layer for chainID. The layer disappears atomically (it is
// renamed away first, then deleted). Removing a layer that a mounted overlay
// still uses is the caller's mistake: reference counting is not done here.
// A missing layer gives an error wrapping ErrLayerNotFound.
func (s *Store) Remove(ctx context.Context, chainID digest.Digest) error {
	hex, err := checkChainID(chainID)
	if err != nil {
		return err
	}
	l, err := s.lock(ctx, hex)
	if err != nil {
		return err
	}
	defer l.Unlock()
	dir := s.layerDir(hex)
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		_ = s.dropLock(hex, l) // the lock file this call made
		return fmt.Errorf("remove layer %s: %w", chainID, ErrLayerNotFound)
	}
	trash, err := os.MkdirTemp(s.root, rmPfx+hex+"-")
	if err != nil {
		return fmt.Errorf("remove layer %s: %w", chainID, err)
	}
	if err := os.Rename(dir, filepath.Join(trash, "layer")); err != nil {
		_ = os.Remove(trash)
		return fmt.Errorf("remove layer %s: %w", chainID, err)
	}
	link := filepath.Join(s.root, linksDir, shortName(hex))
	if err := os.Remove(link); err != nil && !errors.Is(err, os.ErrNotExist) {
		slog.Warn("overlay: remove short link", "link", link, "err", err)
	}
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("remove layer %s: %w", chainID, err)
	}
	if err := s.dropLock(hex, l); err != nil {
		slog.Warn("overlay: remove layer lock", "layer", chainID, "err", err)
	}
	return nil
}

// CheckReport is what Check found in the layer store. With repair, it lists what was
// there before the repair.
type CheckReport struct {
	// Temps are temp dirs of unpacks (.tmp-<chainID hex>-*) and removals
	// (.rm-<chainID hex>-*) that no process works on any more: their layer's lock
	// is free, so the unpack or removal that made them was killed midway.
	Temps []string
	// DanglingLinks are short links under l/ whose layer is gone and that no
	// unpack holding the layer's lock is about to fill.
	DanglingLinks []string
}

// Clean reports whether Check found nothing to repair.
func (r *CheckReport) Clean() bool { return len(r.Temps) == 0 && len(r.DanglingLinks) == 0 }

// Check looks for what a killed process may have left in the store: temp dirs of
// unpacks and removals nobody works on any more, and short links whose layer is gone.
// Liveness is the layer's lock (layers/locks/<chainID hex>), which every unpack and
// removal holds from before it makes its temp dir until that dir is gone: a temp dir
// whose lock Check gets has no owner. With repair it removes what it found, each under
// the layer's lock, so Check is safe while other processes use the store.
func (s *Store) Check(ctx context.Context, repair bool) (*CheckReport, error) {
	rep := &CheckReport{}
	ents, err := os.ReadDir(s.root)
	if err != nil {
		return nil, fmt.Errorf("check layers in %s: %w", s.root, err)
	}
	var errs []error
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		name := e.Name()
		hex, ok := tempLayer(name)
		if !ok {
			continue
		}
		l, err := s.tryLock(hex)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if l == nil {
			continue // someone is working on it
		}
		p := filepath.Join(s.root, name)
		if _, err := os.Lstat(p); err == nil { // not finished by its owner meanwhile
			rep.Temps = append(rep.Temps, p)
			if repair {
				if err := os.RemoveAll(p); err != nil {
					errs = append(errs, fmt.Errorf("check layers: remove %s: %w", p, err))
				} else {
					slog.Info("overlay: removed stale temp dir", "dir", p)
				}
			}
		}
		l.Unlock()
	}
	links, err := os.ReadDir(filepath.Join(s.root, linksDir))
	if err != nil {
		return nil, fmt.Errorf("check layers in %s: %w", s.root, err)
	}
	for _, e := range links {
		p := filepath.Join(s.root, linksDir, e.Name())
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			continue
		}
		// Dangling: its layer is gone, or is being unpacked right now (the link
		// is made before the rename). Only a link whose layer lock is free counts.
		target, err := os.Readlink(p)
		if err != nil {
			continue
		}
		hex := filepath.Base(filepath.Dir(target))
		if digest.NewDigestFromEncoded(digest.SHA256, hex).Validate() != nil {
			continue // not a link this store made
		}
		l, err := s.tryLock(hex)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if l == nil {
			continue
		}
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			rep.DanglingLinks = append(rep.DanglingLinks, p)
			if repair {
				if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
					errs = append(errs, fmt.Errorf("check layers: remove %s: %w", p, err))
				}
			}
		}
		l.Unlock()
	}
	if repair {
		errs = append(errs, s.sweepLocks(ctx))
	}
	return rep, errors.Join(errs...)
}

// sweepLocks deletes the lock files of layers that are gone (an unpack that failed or
// was killed, a removal from before lock files were removed), each under its lock.
func (s *Store) sweepLocks(ctx context.Context) error {
	ents, err := os.ReadDir(filepath.Join(s.root, locksDir))
	if err != nil {
		return fmt.Errorf("check layers in %s: %w", s.root, err)
	}
	var errs []error
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return err
		}
		hex := e.Name()
		if _, err := os.Lstat(s.layerDir(hex)); !errors.Is(err, os.ErrNotExist) ||
			digest.NewDigestFromEncoded(digest.SHA256, hex).Validate() != nil {
			continue // a layer's, or not a file this store made
		}
		l, err := s.tryLock(hex)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if l != nil {
			errs = append(errs, s.dropLock(hex, l))
		}
	}
	return errors.Join(errs...)
}

// tempLayer returns the chainID hex of a temp dir name (.tmp-<hex>-* or .rm-<hex>-*).
func tempLayer(name string) (hex string, ok bool) {
	rest, ok := strings.CutPrefix(name, tmpPfx)
	if !ok {
		if rest, ok = strings.CutPrefix(name, rmPfx); !ok {
			return "", false
		}
	}
	hex, _, ok = strings.Cut(rest, "-")
	if !ok || digest.NewDigestFromEncoded(digest.SHA256, hex).Validate() != nil {
		return "", false
	}
	return hex, true
}

// lockPath is the flock file serialising work on the layer with this chainID hex.
func (s *Store) lockPath(hex string) string { return filepath.Join(s.root, locksDir, hex) }

// tryLock takes the layer's lock if it is free (nil, nil when it is not). The lock
// files are removable: the one of a layer that is gone is deleted by Remove and Check.
func (s *Store) tryLock(hex string) (*lockfile.Lock, error) {
	l, err := lockfile.TryLockRemovable(s.lockPath(hex), lockfile.Exclusive)
	if errors.Is(err, lockfile.ErrLocked) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lock layer sha256:%s: %w", hex, err)
	}
	return l, nil
}

// lock takes the layer's exclusive lock, waiting until ctx is done.
func (s *Store) lock(ctx context.Context, hex string) (*lockfile.Lock, error) {
	l, err := lockfile.AcquireRemovable(ctx, s.lockPath(hex), lockfile.Exclusive)
	if err != nil {
		return nil, fmt.Errorf("lock layer sha256:%s: %w", hex, err)
	}
	return l, nil
}

// dropLock releases the layer's lock l, deleting the lock file when the layer and its
// temp dirs are gone: a lock file per layer ever unpacked would otherwise pile up.
func (s *Store) dropLock(hex string, l *lockfile.Lock) error {
	inUse := func() bool {
		if _, err := os.Lstat(s.layerDir(hex)); !errors.Is(err, os.ErrNotExist) {
			return true
		}
		for _, pfx := range []string{tmpPfx, rmPfx} {
			if temps, _ := filepath.Glob(filepath.Join(s.root, pfx+hex+"-*")); len(temps) > 0 {
				return true
			}
		}
		return false
	}
	if inUse() {
		l.Unlock()
		return nil
	}
	return l.Remove(s.lockPath(hex))
}
