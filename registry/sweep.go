package registry

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/skiffrt/skiff/internal/lockfile"
)

// SweepTemps removes the temp files of writers that died: a blob download or an
// index.json write killed midway. Every writer holds its temp flock'ed until it renames
// or removes it, so a temp that can be locked is abandoned; live writers in this or any
// other process are left alone, and no GC lock is needed. It returns what it removed.
// Pull, Build and Prune call it through the engine, so a killed pull leaves nothing
// behind after the next operation.
func (s *Store) SweepTemps() ([]string, error) {
	var removed []string
	for _, dir := range []string{s.dir, s.blobDir()} {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return removed, fmt.Errorf("registry: sweep %s: %w", dir, err)
		}
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), tmpPrefix) || !e.Type().IsRegular() {
				continue
			}
			p := filepath.Join(dir, e.Name())
			if lockfile.Abandoned(p) {
				if err := os.Remove(p); err == nil {
					removed = append(removed, p)
				}
			}
		}
	}
	return removed, nil
}
