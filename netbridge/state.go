package netbridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/skiffrt/skiff/internal/atomicfile"
	"github.com/skiffrt/skiff/internal/lockfile"
)

// On disk, under the state dir (<engine root>/network):
//
//	lock                    flock(2) taken exclusively by every operation
//	networks/<name>.json    one network: its config, its IPAM and its endpoints
//
// Each file is written to a temp file, fsynced, renamed into place, and the directory is
// fsynced. Files are read and written only while the lock is held, so a read-modify-write
// by one process never interleaves with another's.

// netFile is the persisted form of one network.
type netFile struct {
	Network   Network              `json:"network"`
	IPAM      *IPAM                `json:"ipam"`
	Endpoints map[string]*Endpoint `json:"endpoints,omitempty"` // by container id
}

// lock takes the state-dir flock, waiting until ctx ends.
func (m *Manager) lock(ctx context.Context) (unlock func(), err error) {
	l, err := lockfile.Acquire(ctx, filepath.Join(m.dir, "lock"), lockfile.Exclusive)
	if err != nil {
		return nil, err
	}
	if err := m.settleNames(); err != nil {
		l.Unlock()
		return nil, err
	}
	return l.Unlock, nil
}

// lockAll takes the state lock and reads every network file. On success the caller
// holds the lock until it calls unlock; on error the lock is already dropped.
func (m *Manager) lockAll(ctx context.Context) (nets map[string]*netFile, unlock func(), err error) {
	unlock, err = m.lock(ctx)
	if err != nil {
		return nil, nil, err
	}
	nets, err = m.loadAll()
	if err != nil {
		unlock()
		return nil, nil, err
	}
	return nets, unlock, nil
}

// lockNetwork takes the state lock and reads the file of the network that ref names
// (see resolveNetwork; ErrNetworkNotFound if none). On success the caller holds the
// lock until it calls unlock; on error the lock is already dropped.
func (m *Manager) lockNetwork(ctx context.Context, ref string) (nf *netFile, unlock func(), err error) {
	nets, unlock, err := m.lockAll(ctx)
	if err != nil {
		return nil, nil, err
	}
	nf, err = resolveNetwork(nets, ref)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	return nf, unlock, nil
}

// resolveNetwork finds the network ref names, in Docker's order: its full ID, its
// name, then a unique prefix of its ID. Unknown or ambiguous: ErrNetworkNotFound; not a
// valid name: ErrInvalidName.
func resolveNetwork(nets map[string]*netFile, ref string) (*netFile, error) {
	if !validName.MatchString(ref) {
		return nil, fmt.Errorf("network %q: %w", ref, ErrInvalidName)
	}
	for _, nf := range nets {
		if nf.Network.ID == ref {
			return nf, nil
		}
	}
	if nf, ok := nets[ref]; ok {
		return nf, nil
	}
	var found []*netFile
	for _, name := range sortedNames(nets) {
		if strings.HasPrefix(nets[name].Network.ID, ref) {
			found = append(found, nets[name])
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, fmt.Errorf("network %q: %w", ref, ErrNetworkNotFound)
	}
	return nil, fmt.Errorf("network %q: %w: the prefix is ambiguous (%d networks)", ref, ErrNetworkNotFound, len(found))
}

func (m *Manager) netPath(name string) string {
	return filepath.Join(m.dir, "networks", name+".json")
}

// loadAll reads every network file. Call with the lock held.
func (m *Manager) loadAll() (map[string]*netFile, error) {
	dir := filepath.Join(m.dir, "networks")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read network state %s: %w", dir, err)
	}
	out := map[string]*netFile{}
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(name, ".") {
			continue
		}
		nf, err := m.load(name)
		if err != nil {
			return nil, err
		}
		out[name] = nf
	}
	return out, nil
}

// load reads one network file; ErrNetworkNotFound if absent. Call with the lock held.
func (m *Manager) load(name string) (*netFile, error) {
	if !validName.MatchString(name) { // never a path: "../x" must not reach the filesystem
		return nil, fmt.Errorf("network %q: %w", name, ErrInvalidName)
	}
	path := m.netPath(name)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("network %q: %w", name, ErrNetworkNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read network %q: %w", name, err)
	}
	var nf netFile
	if err := json.Unmarshal(b, &nf); err != nil {
		return nil, fmt.Errorf("parse network state %s: %w", path, err)
	}
	if nf.IPAM == nil {
		return nil, fmt.Errorf("parse network state %s: no ipam", path)
	}
	if nf.Endpoints == nil {
		nf.Endpoints = map[string]*Endpoint{}
	}
	return &nf, nil
}

// save writes one network file durably. Call with the lock held.
func (m *Manager) save(nf *netFile) error {
	b, err := json.MarshalIndent(nf, "", "  ")
	if err != nil {
		return fmt.Errorf("encode network %q: %w", nf.Network.Name, err)
	}
	return writeFileAtomic(m.netPath(nf.Network.Name), b)
}

// remove deletes one network file. Call with the lock held.
func (m *Manager) remove(name string) error {
	path := m.netPath(name)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove network state %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

func writeFileAtomic(path string, data []byte) error {
	return atomicfile.WriteFile(path, data, atomicfile.Options{Perm: 0o600, Durable: true})
}

func syncDir(dir string) error {
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

// removeStrayTemps deletes temp files left by a process killed mid-write. It runs only if
// the lock is free right now: a temp file of a writer holding the lock is not stray.
func (m *Manager) removeStrayTemps() {
	l, err := lockfile.TryLock(filepath.Join(m.dir, "lock"), lockfile.Exclusive)
	if err != nil {
		return
	}
	defer l.Unlock()
	ents, _ := os.ReadDir(filepath.Join(m.dir, "networks"))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), ".tmp-") {
			os.Remove(filepath.Join(m.dir, "networks", e.Name()))
		}
	}
}

// sortedNames returns the keys of nets in order.
func sortedNames(nets map[string]*netFile) []string {
	names := make([]string, 0, len(nets))
	for n := range nets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
