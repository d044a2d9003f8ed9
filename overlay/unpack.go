package overlay

import (
	"bufio"
	"context"
	_ "crypto/sha256" // digest algorithms for diffIDs
	_ "crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/skiffrt/skiff/internal/exhausted"
)

// readBufSize is the size of the buffer between the caller's stream and the
// tar reader, and of the copy buffer for file data.
const readBufSize = 1 << 20

// Unpack reads an uncompressed OCI layer tar from r into the layer directory
// for chainID, converting whiteouts to overlay form and resolving every path
// inside the layer root (see the package doc's threat model). The stream is
// read to EOF, tar padding included, and its digest must equal diffID, or
// Unpack fails with an error wrapping ErrDiffIDMismatch that names both
// digests.
//
// The layer is built in a temp dir and renamed into place, so it becomes
// visible complete or not at all; a failed or cancelled Unpack leaves neither
// a layer nor a temp dir (unless the removal itself fails, as it does with no
// file descriptor left: Check with repair removes that temp dir once the
// descriptors are back). Errors name the layer dir being written; a full file
// system wraps ErrNoSpace, an exhausted descriptor table ErrTooManyFiles. If the layer exists already Unpack returns nil at
// once without reading r. Unpack is safe to call concurrently for the same or
// different chainIDs, from several goroutines or processes: the second caller
// for a chainID waits for the first and then returns nil.
func (s *Store) Unpack(ctx context.Context, chainID, diffID digest.Digest, r io.Reader) error {
	hex, err := checkChainID(chainID)
	if err != nil {
		return err
	}
	if err := diffID.Validate(); err != nil {
		return fmt.Errorf("unpack layer %s: diffID %q: %w: %v", chainID, diffID, ErrInvalidDigest, err)
	}
	if s.Has(chainID) {
		return nil
	}
	l, err := s.lock(ctx, hex)
	if err != nil {
		return fmt.Errorf("unpack layer %s: %w", chainID, err)
	}
	defer l.Unlock()
	if s.Has(chainID) {
		return nil
	}
	start := time.Now()
	n, err := s.unpackLocked(ctx, hex, diffID, r)
	if err != nil {
		if derr := s.dropLock(hex, l); derr != nil {
			slog.Debug("overlay: remove layer lock", "layer", chainID, "err", derr)
		}
		return fmt.Errorf("unpack layer %s: %w", chainID, exhausted.Mark(err))
	}
	slog.Debug("overlay: unpacked layer", "chainID", chainID, "diffID", diffID, "bytes", n, "took", time.Since(start))
	return nil
}

func (s *Store) unpackLocked(ctx context.Context, hex string, diffID digest.Digest, r io.Reader) (n int64, err error) {
	tmp, err := os.MkdirTemp(s.root, tmpPfx+hex+"-")
	if err != nil {
		return 0, err // a *PathError naming the pattern in s.root
	}
	link := filepath.Join(s.root, linksDir, shortName(hex))
	linkMade := false
	defer func() {
		if err != nil {
			if linkMade {
				_ = os.Remove(link)
			}
			if rerr := os.RemoveAll(tmp); rerr != nil {
				slog.Warn("overlay: remove temp dir", "dir", tmp, "err", rerr)
			}
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return 0, err
	}
	diff := filepath.Join(tmp, diffDir)
	if err := os.Mkdir(diff, 0o755); err != nil {
		return 0, err
	}

	hr := newHashReader(r, diffID.Algorithm().Hash())
	defer hr.close()
	br := bufio.NewReaderSize(hr, readBufSize)
	if err := extractWith(ctx, diff, br, s.userXattr); err != nil {
		// The entry's name is relative to the layer: say where the layer was going.
		return hr.n, fmt.Errorf("extract into %s: %w", diff, err)
	}
	// Read to EOF: the hash covers the tar's trailing zero blocks and record
	// padding too.
	if _, err := io.Copy(io.Discard, br); err != nil {
		return hr.n, fmt.Errorf("read layer stream: %w", err)
	}
	got := hr.sum(diffID.Algorithm())
	if got != diffID {
		return hr.n, fmt.Errorf("%w: want %s, got %s (%d bytes read)", ErrDiffIDMismatch, diffID, got, hr.n)
	}
	if err := ctx.Err(); err != nil {
		return hr.n, err
	}

	// Short link first (it dangles until the rename), then flush everything
	// once, then publish.
	if err := os.Symlink(filepath.Join("..", hex, diffDir), link); err != nil {
		if !errors.Is(err, os.ErrExist) {
			return hr.n, err
		}
		if t, rerr := os.Readlink(link); rerr != nil || t != filepath.Join("..", hex, diffDir) {
			return hr.n, fmt.Errorf("short link %s exists and points to %q, not layer %s", link, t, hex)
		}
	} else {
		linkMade = true
	}
	if !s.noSync {
		if err := syncTree(tmp); err != nil {
			return hr.n, err
		}
	}
	err = unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, s.layerDir(hex), unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY) {
		// Somebody else won without holding the lock (e.g. a broken lock
		// file system). Their copy is as good as ours.
		linkMade = false
		_ = os.RemoveAll(tmp)
		return hr.n, nil
	}
	if err != nil {
		return hr.n, &os.PathError{Op: "rename", Path: tmp, Err: err}
	}
	if err := syncDir(s.root); err != nil {
		slog.Warn("overlay: fsync layers dir", "dir", s.root, "err", err)
	}
	return hr.n, nil
}

// syncTree flushes the file system holding dir (one syncfs instead of an
// fsync per file).
func syncTree(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(fd)
	if err := unix.Syncfs(fd); err != nil {
		return &os.PathError{Op: "syncfs", Path: dir, Err: err}
	}
	return nil
}

func syncDir(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Fsync(fd)
}

// hashReader counts what is read through it and hashes it on another
// goroutine, so hashing overlaps with writing files. close must be called;
// sum waits for the hash of everything read so far.
type hashReader struct {
	r    io.Reader
	h    hash.Hash
	n    int64
	free chan []byte
	work chan []byte // nil once closed
	done chan struct{}
}

const hashBufs = 4

func newHashReader(r io.Reader, h hash.Hash) *hashReader {
	hr := &hashReader{r: r, h: h,
		free: make(chan []byte, hashBufs), work: make(chan []byte, hashBufs), done: make(chan struct{})}
	for range hashBufs {
		hr.free <- make([]byte, readBufSize)
	}
	work, free, done := hr.work, hr.free, hr.done
	go func() {
		defer close(done)
		for b := range work {
			h.Write(b)
			free <- b[:cap(b)]
		}
	}()
	return hr
}

func (hr *hashReader) Read(p []byte) (int, error) {
	n, err := hr.r.Read(p)
	for done := 0; done < n; {
		b := <-hr.free
		c := copy(b, p[done:n])
		hr.work <- b[:c]
		done += c
	}
	hr.n += int64(n)
	return n, err
}

// close stops the hashing goroutine after it has hashed everything read.
func (hr *hashReader) close() {
	if hr.work != nil {
		close(hr.work)
		hr.work = nil
		<-hr.done
	}
}

// sum finishes hashing and returns the digest of everything read.
func (hr *hashReader) sum(alg digest.Algorithm) digest.Digest {
	hr.close()
	return digest.NewDigest(alg, hr.h)
}
