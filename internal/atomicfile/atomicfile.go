// Package atomicfile writes files so that a reader sees the old content or the new,
// never a part: the data goes to a temp file in the same directory, which is renamed
// over the target. Durable writes also fsync the file before the rename and the
// directory after it, so the new content survives a machine crash.
//
// Temp files are named with [TempPrefix] and are held under an exclusive flock while
// they are written (see package lockfile), so a sweeper can tell a temp file whose
// writer is gone (lock free) from one being written right now (lock held).
package atomicfile

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/skiffrt/skiff/internal/lockfile"
)

// TempPrefix starts the name of every temp file this package creates.
const TempPrefix = ".tmp-"

// Options tune a write. The zero value writes mode 0644 without fsync.
type Options struct {
	// Perm is the new file's mode (default 0644).
	Perm os.FileMode
	// Durable fsyncs the file before the rename and its directory after it.
	Durable bool
}

// IsTemp reports whether name (a base name) is a temp file of this package.
func IsTemp(name string) bool { return strings.HasPrefix(name, TempPrefix) }

// WriteFile replaces path with data atomically.
func WriteFile(path string, data []byte, o Options) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, TempPrefix+base+"-")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// The writer holds the temp file locked until it is renamed or removed: a sweeper
	// that gets the lock knows the writer is gone.
	if err := lockfile.Hold(f); err != nil {
		return fmt.Errorf("write %s: lock temp file: %w", path, err)
	}
	perm := o.Perm
	if perm == 0 {
		perm = 0o644
	}
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if o.Durable {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("write %s: fsync: %w", path, err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	ok = true
	f.Close()
	if o.Durable {
		return SyncDir(dir)
	}
	return nil
}

// WriteJSON replaces path with v encoded as indented JSON.
func WriteJSON(path string, v any, o Options) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return WriteFile(path, data, o)
}

// SyncDir fsyncs a directory, making renames and removals in it durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}
