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
	"time"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// Store is the layer store under <root>/layers:
//
//	layers/<chainID hex>/diff   an unpacked layer (overlay lowerdir)
//	layers/l/<24 hex>           short symlink → ../<chainID hex>/diff
//	layers/empty                empty lower dir for snapshots with no layers
//	layers/locks/<chainID hex>  flock(2) files serialising work on one layer
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
	unlock, err := s.lock(ctx, hex)
	if err != nil {
		return err
	}
	defer unlock()
	dir := s.layerDir(hex)
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
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
	return nil
}

// Check repairs what a killed process may have left: temp dirs of unpacks and
// removals nobody is working on any more (their chainID lock is free) and short
// links whose layer is gone. It is safe to run while other processes use the
// store.
func (s *Store) Check(ctx context.Context) error {
	ents, err := os.ReadDir(s.root)
	if err != nil {
		return fmt.Errorf("check layers in %s: %w", s.root, err)
	}
	var errs []error
	for _, e := range ents {
		name := e.Name()
		var rest string
		switch {
		case strings.HasPrefix(name, tmpPfx):
			rest = name[len(tmpPfx):]
		case strings.HasPrefix(name, rmPfx):
			rest = name[len(rmPfx):]
		default:
			continue
		}
		hex, _, ok := strings.Cut(rest, "-")
		if !ok || digest.NewDigestFromEncoded(digest.SHA256, hex).Validate() != nil {
			continue
		}
		unlock, ok, err := s.tryLock(hex)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ok {
			continue // someone is working on it
		}
		if err := os.RemoveAll(filepath.Join(s.root, name)); err != nil {
			errs = append(errs, fmt.Errorf("check: remove %s: %w", name, err))
		} else {
			slog.Info("overlay: removed stale temp dir", "dir", filepath.Join(s.root, name))
		}
		unlock()
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	links, err := os.ReadDir(filepath.Join(s.root, linksDir))
	if err != nil {
		return fmt.Errorf("check layers in %s: %w", s.root, err)
	}
	for _, e := range links {
		p := filepath.Join(s.root, linksDir, e.Name())
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			// Dangling: its layer is gone, or is being unpacked right now
			// (the link is made before the rename). Only remove it when no
			// one holds the layer's lock.
			target, err := os.Readlink(p)
			if err != nil {
				continue
			}
			hex := filepath.Base(filepath.Dir(target))
			if digest.NewDigestFromEncoded(digest.SHA256, hex).Validate() != nil {
				continue
			}
			unlock, ok, err := s.tryLock(hex)
			if err != nil || !ok {
				continue
			}
			if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
				_ = os.Remove(p)
			}
			unlock()
		}
	}
	return errors.Join(errs...)
}

// lockFile opens the flock file for hex.
func (s *Store) lockFile(hex string) (int, error) {
	p := filepath.Join(s.root, locksDir, hex)
	fd, err := unix.Open(p, unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return -1, &os.PathError{Op: "open lock", Path: p, Err: err}
	}
	return fd, nil
}

// tryLock takes the layer's lock if it is free.
func (s *Store) tryLock(hex string) (unlock func(), ok bool, err error) {
	fd, err := s.lockFile(hex)
	if err != nil {
		return nil, false, err
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("lock layer %s: %w", hex, err)
	}
	return func() { unix.Close(fd) }, true, nil
}

// lock takes the layer's exclusive lock, waiting until ctx is done.
func (s *Store) lock(ctx context.Context, hex string) (unlock func(), err error) {
	delay := time.Millisecond
	for {
		unlock, ok, err := s.tryLock(hex)
		if err != nil || ok {
			return unlock, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("lock layer sha256:%s: %w", hex, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(delay*2, 50*time.Millisecond)
	}
}
