package netbridge

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DefaultClaimDir is where Managers record, host-wide, which state dir uses which
// nftables table and default bridge (WithClaimDir). It is under /run, so it is
// forgotten at reboot, with the kernel objects it speaks of.
const DefaultClaimDir = "/run/skiff/netbridge"

// WithClaimDir sets the directory of host-wide name claims. Default: DefaultClaimDir.
func WithClaimDir(dir string) Option { return func(m *Manager) { m.claimDir = dir } }

// Kernel names are host-wide, state dirs are not. Each Manager rewrites its whole
// nftables table from its own state, so two state dirs writing one table erase each
// other's published ports (a port answers "connection refused" once another engine
// root ran a container), and two IPAMs on one default bridge hand out the same
// addresses. So, before its first operation, a Manager claims its table and default
// bridge names for its state dir:
//
//	<claim dir>/table-<name>    holds the absolute state dir that uses the table
//	<claim dir>/bridge-<name>   the same for the default bridge
//
// A name claimed by another state dir that still exists is not taken: the Manager
// uses names derived from its state dir instead (table "<table>-<8 hex>", bridge
// "<first 6 bytes of bridge><8 hex>") and logs it. The same state dir always settles
// on the same names, so every process of one engine root agrees. A claim whose state
// dir is gone is stale and taken over. Without a writable claim dir (an unprivileged
// user, who has no bridges anyway) the names are used as given.

// settleNames fixes the table and default bridge of this Manager, once. Call with
// the state lock held.
func (m *Manager) settleNames() error {
	m.namesMu.Lock()
	defer m.namesMu.Unlock()
	if m.settled {
		return nil
	}
	abs, err := filepath.Abs(m.dir)
	if err != nil {
		return fmt.Errorf("network state dir %s: %w", m.dir, err)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real // one owner however the root is reached
	}
	m.abs = abs
	if err := os.MkdirAll(m.claimDir, 0o755); err != nil {
		m.settled = true // no host-wide registry to consult: the names as given
		return nil
	}
	m.sweepClaims()
	if m.claim("table-"+m.table, abs) {
		if m.claim("bridge-"+m.defaultBridge, abs) {
			m.settled = true
			return nil
		}
		m.unclaim("table-"+m.table, abs) // names go in pairs: leave it to its pair's owner
	}
	table, bridge := derivedNames(m.table, m.defaultBridge, abs)
	if !m.claim("table-"+table, abs) || !m.claim("bridge-"+bridge, abs) {
		return fmt.Errorf("network state dir %s: nft table %s and bridge %s are used by other state dirs (see %s): %w",
			abs, table, bridge, m.claimDir, ErrNamesInUse)
	}
	m.log.Info("network names are used by another engine root; this one uses its own",
		"state", abs, "table", table, "bridge", bridge, "instead_of", m.table+", "+m.defaultBridge)
	m.table, m.defaultBridge = table, bridge
	m.settled = true
	return nil
}

// stateAbs returns the absolute state dir that claims are recorded under, settled
// by the Manager's first operation.
func (m *Manager) stateAbs() string {
	m.namesMu.Lock()
	defer m.namesMu.Unlock()
	return m.abs
}

// derivedNames are the names a state dir uses when the requested ones are taken.
func derivedNames(table, bridge, stateDir string) (string, string) {
	h := sha256.Sum256([]byte(stateDir))
	tag := hex.EncodeToString(h[:4])
	if len(table) > 55 {
		table = table[:55]
	}
	if len(bridge) > 6 {
		bridge = bridge[:6]
	}
	return table + "-" + tag, bridge + tag
}

// claim records owner as the user of name unless another existing state dir holds it;
// it reports whether owner holds the name now. A claim appears whole: written to a
// temp file, then hard-linked to its name (which fails if the name exists).
func (m *Manager) claim(name, owner string) bool {
	path := filepath.Join(m.claimDir, name)
	for range 3 {
		b, err := os.ReadFile(path)
		switch {
		case err == nil && string(b) == owner:
			return true
		case err == nil:
			if _, err := os.Stat(string(b)); err == nil || !filepath.IsAbs(string(b)) {
				return false // a live state dir holds it
			}
			os.Remove(path) // stale: its state dir is gone
			continue
		case !errors.Is(err, os.ErrNotExist):
			return false
		}
		tmp, err := os.CreateTemp(m.claimDir, ".claim-*")
		if err != nil {
			return false
		}
		_, werr := tmp.WriteString(owner)
		cerr := tmp.Close()
		if werr == nil && cerr == nil {
			err = os.Link(tmp.Name(), path)
		}
		os.Remove(tmp.Name())
		if werr != nil || cerr != nil {
			return false
		}
		if err == nil {
			return true
		}
		if !errors.Is(err, os.ErrExist) {
			return false
		}
	}
	return false
}

// unclaim drops owner's claim of name.
func (m *Manager) unclaim(name, owner string) {
	path := filepath.Join(m.claimDir, name)
	if b, err := os.ReadFile(path); err == nil && string(b) == owner {
		os.Remove(path)
	}
}

// sweepClaims removes the claims whose state dir is gone (engine roots deleted), with
// what they named (see SweepClaims).
func (m *Manager) sweepClaims() { SweepClaims(m.claimDir) }

// SweepClaims removes, from the host-wide claim dir (DefaultClaimDir), the claims of
// network state dirs that no longer exist (engine roots deleted), and the kernel
// objects those claims named: the default bridge ("bridge-NAME") and the nftables
// table ("table-NAME") of an engine root that is gone, which nobody else may use.
// Every Manager sweeps when it settles its names; a program that deletes engine
// roots (a test suite) calls it to leave no bridge or table behind. Errors are
// ignored: a claim that cannot be read or removed is left for the next sweep.
func SweepClaims(claimDir string) {
	ents, err := os.ReadDir(claimDir)
	if err != nil {
		return
	}
	for _, e := range ents {
		path := filepath.Join(claimDir, e.Name())
		b, err := os.ReadFile(path)
		if err != nil || len(b) == 0 || !filepath.IsAbs(string(b)) {
			continue
		}
		if _, err := os.Stat(string(b)); !errors.Is(err, os.ErrNotExist) {
			continue
		}
		switch name := e.Name(); {
		case strings.HasPrefix(name, "bridge-"):
			if deleteLink(strings.TrimPrefix(name, "bridge-")) != nil {
				continue
			}
		case strings.HasPrefix(name, "table-"):
			if applyRuleset(Ruleset{Table: strings.TrimPrefix(name, "table-")}) != nil {
				continue
			}
		}
		os.Remove(path)
	}
}
