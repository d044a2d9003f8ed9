package netbridge

import (
	"context"
	"fmt"
)

// Rename gives the endpoints of container containerID, on every network, the name
// name (the first name other containers resolve it by; aliases are kept). It returns
// the IDs of the containers sharing a network with it, whose /etc/hosts need the new
// name (see HostsFor).
func (m *Manager) Rename(ctx context.Context, containerID, name string) ([]string, error) {
	nets, unlock, err := m.lockAll(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	peers := map[string]bool{}
	for _, nf := range nets {
		ep, ok := nf.Endpoints[containerID]
		if !ok {
			continue
		}
		ep.Name = name
		if err := m.save(nf); err != nil {
			return nil, fmt.Errorf("rename endpoint of %s: %w", containerID, err)
		}
		for id := range nf.Endpoints {
			peers[id] = true
		}
	}
	out := make([]string, 0, len(peers))
	for id := range peers {
		out = append(out, id)
	}
	return out, nil
}
