package cgroup

import (
	cgroups "github.com/containerd/cgroups/v3"
)

// Mode is how cgroups are mounted on the host.
type Mode int

const (
	// Unavailable means no cgroup filesystem is mounted at /sys/fs/cgroup.
	Unavailable Mode = iota
	// Legacy is cgroup v1 only: one hierarchy per controller under /sys/fs/cgroup.
	Legacy
	// Hybrid is cgroup v1 controllers plus a cgroup2 hierarchy at /sys/fs/cgroup/unified.
	// Skiff uses v1 in this mode (that is where the controllers are).
	Hybrid
	// Unified is cgroup v2 only, mounted at /sys/fs/cgroup.
	Unified
)

// String returns "unavailable", "legacy", "hybrid" or "unified".
func (m Mode) String() string {
	switch m {
	case Legacy:
		return "legacy"
	case Hybrid:
		return "hybrid"
	case Unified:
		return "unified"
	default:
		return "unavailable"
	}
}

// DetectMode reports how cgroups are mounted on this host (statfs of /sys/fs/cgroup and
// /sys/fs/cgroup/unified). The answer is computed once and cached.
func DetectMode() Mode {
	switch cgroups.Mode() {
	case cgroups.Legacy:
		return Legacy
	case cgroups.Hybrid:
		return Hybrid
	case cgroups.Unified:
		return Unified
	default:
		return Unavailable
	}
}

// UnifiedMountpoint is where New and Load expect the cgroup2 hierarchy on a unified host.
const UnifiedMountpoint = "/sys/fs/cgroup"

// HybridUnifiedMountpoint is where a hybrid host mounts its cgroup2 hierarchy.
const HybridUnifiedMountpoint = "/sys/fs/cgroup/unified"
