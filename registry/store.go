package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sys/unix"

	"github.com/skiffrt/skiff/internal/atomicfile"
	"github.com/skiffrt/skiff/internal/lockfile"
)

// RefNameAnnotation is the index.json annotation that names an image: the full normalized
// reference, e.g. "docker.io/library/busybox:latest".
const RefNameAnnotation = "org.opencontainers.image.ref.name"

// Files of the layout dir. The two lock files are Skiff's own; OCI tools ignore them.
const (
	layoutFile  = "oci-layout"
	indexFile   = "index.json"
	indexLock   = ".skiff-index.lock" // exclusive around every index.json read-modify-write
	gcLock      = ".skiff-gc.lock"    // shared while writing blobs, exclusive for Prune/Check
	tmpPrefix   = ".tmp-"             // temp files (blobs in flight, index.json in flight)
	layoutValue = `{"imageLayoutVersion":"1.0.0"}`
)

// Store is the image store: an OCI image layout (oci-layout, index.json, blobs/sha256/…)
// in one directory, readable by skopeo ("oci:DIR:REF") and umoci. Images are named in
// index.json by the annotation org.opencontainers.image.ref.name holding the full
// normalized reference; there is one entry per name.
//
// A Store is safe for concurrent use by goroutines and by several processes on the same
// directory: blobs are written to temp files, verified against their digest, fsync'ed and
// renamed into place; index.json is read-modified-written under an flock and replaced by
// rename. A crash at any instant leaves the old index.json or the new one, never a torn one,
// and never a visible blob whose bytes don't match its name; temp files it leaves are removed
// by Prune (or Check with repair).
type Store struct {
	dir string
}

// Open opens the image store at dir, creating dir and an empty layout if needed.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("registry: open: empty directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("registry: open %s: %w", dir, err)
	}
	s := &Store{dir: abs}
	if err := os.MkdirAll(s.blobDir(), 0o755); err != nil {
		return nil, fmt.Errorf("registry: open %s: %w", dir, err)
	}
	for _, l := range []string{indexLock, gcLock} {
		f, err := os.OpenFile(filepath.Join(abs, l), os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o644)
		if err != nil {
			return nil, fmt.Errorf("registry: open %s: %w", dir, err)
		}
		f.Close()
	}
	err = s.withIndexLock(func() error {
		if _, err := os.Stat(filepath.Join(abs, layoutFile)); errors.Is(err, fs.ErrNotExist) {
			if err := writeFileAtomic(abs, layoutFile, []byte(layoutValue)); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		if _, err := os.Stat(filepath.Join(abs, indexFile)); errors.Is(err, fs.ErrNotExist) {
			return s.writeIndex(&v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex})
		} else if err != nil {
			return err
		}
		_, err := s.readIndex()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("registry: open %s: %w", dir, err)
	}
	return s, nil
}

// Dir returns the layout directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) blobDir() string { return filepath.Join(s.dir, "blobs", "sha256") }

// withIndexLock runs fn with the index lock held.
func (s *Store) withIndexLock(fn func() error) error {
	l, err := lockfile.Acquire(nil, filepath.Join(s.dir, indexLock), lockfile.Exclusive)
	if err != nil {
		return err
	}
	defer l.Unlock()
	return fn()
}

// readIndex parses index.json. Caller holds the index lock when it will write it back.
func (s *Store) readIndex() (*v1.IndexManifest, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, indexFile))
	if err != nil {
		return nil, err
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorruptStore, filepath.Join(s.dir, indexFile), err)
	}
	return idx, nil
}

// writeIndex replaces index.json atomically (temp, fsync, rename, fsync dir).
func (s *Store) writeIndex(idx *v1.IndexManifest) error {
	if idx.Manifests == nil {
		idx.Manifests = []v1.Descriptor{}
	}
	b, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	return writeFileAtomic(s.dir, indexFile, b)
}

// updateIndex runs fn on index.json under the index lock and writes back the result.
func (s *Store) updateIndex(fn func(idx *v1.IndexManifest) error) error {
	return s.withIndexLock(func() error {
		idx, err := s.readIndex()
		if err != nil {
			return err
		}
		if err := fn(idx); err != nil {
			return err
		}
		return s.writeIndex(idx)
	})
}

// writeFileAtomic writes dir/name via a temp file, fsync, rename and a dir fsync.
func writeFileAtomic(dir, name string, b []byte) error {
	return atomicfile.WriteFile(filepath.Join(dir, name), b, atomicfile.Options{Perm: 0o644, Durable: true})
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
