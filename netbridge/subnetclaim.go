package netbridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"

	"github.com/skiffrt/skiff/internal/atomicfile"
	"github.com/skiffrt/skiff/internal/lockfile"
)

// Subnets are host-wide too: a bridge's route exists only once a container is on it,
// so two state dirs that each create a network while neither has a container would
// otherwise pick the same subnet, and the second bridge's route would shadow the
// first's. Beside the name claims, the claim dir holds the subnets of every network
// of every state dir on the host:
//
//	<claim dir>/subnets.json   [{"subnet", "state", "network", "id"}, ...]
//	<claim dir>/subnets.lock   flock(2) held while subnets.json is read and rewritten
//
// CreateNetwork holds that lock from reading the claims to recording its own (the
// bridge is made and the network file saved in between), so two state dirs creating
// networks at once see each other's subnets; RemoveNetwork drops the claim. A claim
// is live while <state>/networks/<network>.json exists with the claimed network ID;
// any other claim (its state dir removed, or its process killed between two steps) is
// dropped by the next process that reads the claims. Networks a state dir had before
// it claimed subnets are claimed by its next CreateNetwork. Without a writable claim
// dir only the state dir's own networks and host routes are taken into account.

// subnetClaimsFile and subnetClaimsLock are the names inside the claim dir.
const (
	subnetClaimsFile = "subnets.json"
	subnetClaimsLock = "subnets.lock"
)

// subnetClaim records that a network of a state dir uses a subnet.
type subnetClaim struct {
	Subnet  netip.Prefix `json:"subnet"`
	State   string       `json:"state"`   // absolute state dir
	Network string       `json:"network"` // network name
	ID      string       `json:"id"`      // network ID
}

// subnetClaims is the host-wide claim list, read and held under its lock.
type subnetClaims struct {
	dir    string
	lock   *lockfile.Lock
	list   []subnetClaim
	change bool
}

// lockSubnetClaims takes the host-wide subnet lock and reads the live claims. It
// returns nil (and no error) when the claim dir cannot be made: there is no host-wide
// registry then. Call with the state lock held (the state lock is always taken first).
func (m *Manager) lockSubnetClaims(ctx context.Context) (*subnetClaims, error) {
	if err := os.MkdirAll(m.claimDir, 0o755); err != nil {
		return nil, nil
	}
	l, err := lockfile.Acquire(ctx, filepath.Join(m.claimDir, subnetClaimsLock), lockfile.Exclusive)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, nil // not writable (an unprivileged user): no registry
	}
	sc := &subnetClaims{dir: m.claimDir, lock: l}
	path := filepath.Join(m.claimDir, subnetClaimsFile)
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		l.Unlock()
		return nil, fmt.Errorf("read subnet claims %s: %w", path, err)
	default:
		if err := json.Unmarshal(b, &sc.list); err != nil {
			m.log.Warn("subnet claims unreadable; starting them anew", "path", path, "err", err)
			sc.list, sc.change = nil, true
		}
	}
	live := sc.list[:0]
	for _, c := range sc.list {
		if claimLive(c) {
			live = append(live, c)
		} else {
			sc.change = true
		}
	}
	sc.list = live
	return sc, nil
}

// claimLive reports whether the network a claim names still exists with that ID. The
// other state dir's file is read without its lock: it is only ever replaced whole.
func claimLive(c subnetClaim) bool {
	if !filepath.IsAbs(c.State) || !validName.MatchString(c.Network) {
		return false
	}
	b, err := os.ReadFile(filepath.Join(c.State, "networks", c.Network+".json"))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist) // unreadable is not gone
	}
	var nf struct {
		Network struct {
			ID string `json:"id"`
		} `json:"network"`
	}
	return json.Unmarshal(b, &nf) == nil && nf.Network.ID == c.ID
}

// others returns the subnets claimed by state dirs other than state, as prefixes a
// new subnet must not overlap.
func (sc *subnetClaims) others(state string) []usedPrefix {
	if sc == nil {
		return nil
	}
	var out []usedPrefix
	for _, c := range sc.list {
		if c.State != state {
			out = append(out, usedPrefix{c.Subnet, fmt.Sprintf("network %q of engine state %s", c.Network, c.State)})
		}
	}
	return out
}

// claim records that network n of state uses its subnet (once).
func (sc *subnetClaims) claim(state string, n *Network) {
	if sc == nil {
		return
	}
	for _, c := range sc.list {
		if c.State == state && c.ID == n.ID && c.Subnet == n.Subnet && c.Network == n.Name {
			return
		}
	}
	sc.drop(state, n.ID)
	sc.list = append(sc.list, subnetClaim{Subnet: n.Subnet, State: state, Network: n.Name, ID: n.ID})
	sc.change = true
}

// drop forgets the claim of the network with this ID.
func (sc *subnetClaims) drop(state, id string) {
	if sc == nil {
		return
	}
	kept := sc.list[:0]
	for _, c := range sc.list {
		if c.State == state && c.ID == id {
			sc.change = true
			continue
		}
		kept = append(kept, c)
	}
	sc.list = kept
}

// release writes the claims if they changed and drops the lock.
func (sc *subnetClaims) release() error {
	if sc == nil {
		return nil
	}
	defer sc.lock.Unlock()
	if !sc.change {
		return nil
	}
	sort.Slice(sc.list, func(i, j int) bool { return sc.list[i].Subnet.Addr().Less(sc.list[j].Subnet.Addr()) })
	if sc.list == nil {
		sc.list = []subnetClaim{}
	}
	path := filepath.Join(sc.dir, subnetClaimsFile)
	if err := atomicfile.WriteJSON(path, sc.list, atomicfile.Options{Perm: 0o644}); err != nil {
		return fmt.Errorf("write subnet claims: %w", err)
	}
	return nil
}
