package netbridge

import "context"

// PortMapping publishes a container port on the host.
type PortMapping struct{}

func (m *Manager) applyRulesLocked(ctx context.Context) error { return nil }
