package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/go-digest"

	"github.com/skiffrt/skiff/internal/exhausted"
	"github.com/skiffrt/skiff/internal/lockfile"
)

// checkDigest accepts only sha256 digests with 64 lowercase hex digits, so a digest read from
// a manifest can safely become a file name.
func checkDigest(d digest.Digest) error {
	if d.Algorithm() != digest.SHA256 {
		return fmt.Errorf("%w: digest %q: only sha256 is supported", ErrUnsupportedMediaType, d)
	}
	if err := d.Validate(); err != nil {
		return fmt.Errorf("digest %q: %w", d, err)
	}
	return nil
}

func toDigest(h v1.Hash) digest.Digest { return digest.Digest(h.String()) }

// blobPath is the final path of a blob; d must have passed checkDigest.
func (s *Store) blobPath(d digest.Digest) string { return filepath.Join(s.blobDir(), d.Encoded()) }

// hasBlob reports whether blob d is present with the given size (size < 0: any size).
func (s *Store) hasBlob(d digest.Digest, size int64) bool {
	if checkDigest(d) != nil {
		return false
	}
	fi, err := os.Stat(s.blobPath(d))
	return err == nil && fi.Mode().IsRegular() && (size < 0 || fi.Size() == size)
}

// txn stages verified blobs in temp files inside blobs/sha256 and makes them visible all at
// once on commit (rename each, then fsync the directory). abort removes every temp file, so
// a failed pull or write leaves the visible blobs as they were.
type txn struct {
	s      *Store
	ref    string
	mu     sync.Mutex
	staged []staged
}

// staged is a verified blob waiting in its temp file for the transaction's commit. The
// temp stays open and flock'ed until then, so a sweeper (SweepTemps, in any process)
// knows it is alive.
type staged struct {
	tmp, final string
	f          *os.File
}

func (s *Store) newTxn(ref string) *txn { return &txn{s: s, ref: ref} }

// put streams r into a temp file while hashing it and checks size and digest. It returns
// exists=true without reading r when the store already has the blob. Progress bytes go
// to progress (may be nil).
func (t *txn) put(ctx context.Context, r io.Reader, want digest.Digest, size int64, progress io.Writer) (err error) {
	if err := checkDigest(want); err != nil {
		return err
	}
	final := t.s.blobPath(want)
	f, err := os.CreateTemp(t.s.blobDir(), tmpPrefix+want.Encoded()+"-")
	if err != nil {
		return fmt.Errorf("blob %s: %w", want, exhausted.Mark(err))
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
			f.Close()
		}
	}()
	// Held while written and until the commit renames it: a temp nobody holds is
	// abandoned (its writer died) and any later operation may remove it.
	if err := lockfile.Hold(f); err != nil {
		return fmt.Errorf("blob %s: lock %s: %w", want, tmp, err)
	}
	h := sha256.New()
	// A failed write is the store's (a full disk: the temp's path and ENOSPC) or the
	// progress writer's (an unpacker that gave up), never a short download.
	fw := &writeErr{w: f}
	w := io.Writer(io.MultiWriter(fw, h))
	var pw *writeErr
	if progress != nil {
		pw = &writeErr{w: progress}
		w = io.MultiWriter(fw, h, pw)
	}
	buf := make([]byte, 1<<20)
	n, rerr := io.CopyBuffer(w, &ctxReader{ctx: ctx, r: r}, buf)
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("blob %s: %w", want, cerr)
	}
	if fw.err != nil {
		return fmt.Errorf("blob %s: %w", want, exhausted.Mark(fw.err))
	}
	if pw != nil && pw.err != nil {
		return pw.err
	}
	got := digest.NewDigestFromEncoded(digest.SHA256, hex.EncodeToString(h.Sum(nil)))
	if rerr != nil {
		// A verifying reader upstream (ggcr's) fails at EOF on a bad digest; report it as ours
		// when every byte arrived, otherwise as a short read.
		if (size < 0 || n == size) && got != want {
			return &DigestError{Ref: t.ref, Want: want, Got: got, WantSize: size, Read: n, Err: rerr}
		}
		if size >= 0 && n != size {
			return &DigestError{Ref: t.ref, Want: want, WantSize: size, Read: n, Err: rerr}
		}
		return fmt.Errorf("blob %s: read after %d bytes: %w", want, n, rerr)
	}
	if size >= 0 && n != size {
		return &DigestError{Ref: t.ref, Want: want, WantSize: size, Read: n}
	}
	if got != want {
		return &DigestError{Ref: t.ref, Want: want, Got: got, WantSize: size, Read: n}
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("blob %s: %w", want, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("blob %s: fsync %s: %w", want, tmp, exhausted.Mark(err))
	}
	t.mu.Lock()
	t.staged = append(t.staged, staged{tmp: tmp, final: final, f: f})
	t.mu.Unlock()
	return nil
}

// path returns where blob d can be read now: its staged temp file, or its final path.
func (t *txn) path(d digest.Digest) string {
	final := t.s.blobPath(d)
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, st := range t.staged {
		if st.final == final {
			return st.tmp
		}
	}
	return final
}

// commit renames every staged blob into place, in staging order, and fsyncs blobs/sha256.
func (t *txn) commit() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	defer func() {
		for _, st := range t.staged {
			st.f.Close()
		}
		t.staged = nil
	}()
	for i, st := range t.staged {
		if err := os.Rename(st.tmp, st.final); err != nil {
			for _, rest := range t.staged[i:] {
				os.Remove(rest.tmp)
			}
			return exhausted.Mark(err)
		}
	}
	if err := syncDir(t.s.blobDir()); err != nil {
		return fmt.Errorf("fsync %s: %w", t.s.blobDir(), exhausted.Mark(err))
	}
	return nil
}

// abort removes every staged temp file. Safe after commit (then it does nothing).
func (t *txn) abort() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, st := range t.staged {
		if err := os.Remove(st.tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
			st.f.Close()
			continue
		}
		st.f.Close()
	}
	t.staged = nil
}

// writeErr remembers the first error of its writer, so that a copy that failed can tell
// a failed write from a failed read.
type writeErr struct {
	w   io.Writer
	err error
}

func (e *writeErr) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}

// ctxReader stops a copy when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
