package netbridge

import (
	"context"
	"errors"
	"fmt"
)

// Check repairs the state after a crash: every endpoint whose container is not alive (as
// alive says; the engine passes a lookup of its own container states) is detached, its
// veth deleted (if still there), its address released and its rules dropped; addresses
// allocated to no endpoint are released; bridges of networks with endpoints are brought
// back up; and the nftables table is rewritten from the state. It returns the endpoints it
// removed.
func (m *Manager) Check(ctx context.Context, alive func(containerID string) bool) ([]Endpoint, error) {
	nets, unlock, err := m.lockAll(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var removed []Endpoint
	var errs []error
	for _, name := range sortedNames(nets) {
		nf := nets[name]
		for _, ep := range sortedEndpoints(nf) {
			if alive(ep.ContainerID) {
				continue
			}
			if err := m.detachLocked(nf, ep.ContainerID); err != nil {
				errs = append(errs, fmt.Errorf("check: %w", err))
				continue
			}
			removed = append(removed, ep)
		}
		dirty := false
		for ip, owner := range nf.IPAM.Allocated {
			if ep, ok := nf.Endpoints[owner]; !ok || ep.IP() != ip {
				m.log.Warn("releasing orphaned address", "network", name, "ip", ip, "owner", owner)
				delete(nf.IPAM.Allocated, ip)
				dirty = true
			}
		}
		if dirty {
			if err := m.save(nf); err != nil {
				errs = append(errs, err)
			}
		}
		if len(nf.Endpoints) > 0 {
			if err := m.ensureBridge(&nf.Network); err != nil {
				errs = append(errs, fmt.Errorf("check network %q: %w", name, err))
			}
		}
	}
	if err := applyRuleset(buildRuleset(m.table, nets)); err != nil {
		errs = append(errs, fmt.Errorf("check: %w", err))
	}
	return removed, errors.Join(errs...)
}
