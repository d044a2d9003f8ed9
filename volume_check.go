package skiff

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// check finds the temp dirs that a killed CreateVolume (.tmp-*) or volume removal
// (.rm-*) left under Root()/volumes and, with repair, removes them. Both kinds are made
// and removed under the volumes lock, so with that lock held every one there is stale.
// The report lists what was found, before any repair.
func (vs *volumeStore) check(repair bool) ([]string, error) {
	if _, err := os.Stat(vs.dir); errors.Is(err, os.ErrNotExist) {
		return nil, nil // no volume was ever made
	}
	unlock, err := vs.lockVolumes()
	if err != nil {
		return nil, err
	}
	defer unlock()
	ents, err := os.ReadDir(vs.dir)
	if err != nil {
		return nil, fmt.Errorf("check volumes: %w", err)
	}
	var temps []string
	for _, e := range ents {
		if e.IsDir() && (strings.HasPrefix(e.Name(), ".tmp-") || strings.HasPrefix(e.Name(), ".rm-")) {
			temps = append(temps, filepath.Join(vs.dir, e.Name()))
		}
	}
	slices.Sort(temps)
	if !repair {
		return temps, nil
	}
	var errs []error
	for _, t := range temps {
		if err := os.RemoveAll(t); err != nil {
			errs = append(errs, fmt.Errorf("check volumes: %w", err))
			continue
		}
		vs.log.Info("check: removed stray volume temp dir", "dir", t)
	}
	return temps, errors.Join(errs...)
}
