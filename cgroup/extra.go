package cgroup

import (
	"fmt"
	"strconv"
)

// Extra are limits beyond Resources that OCI runtime specs carry (runc applies them):
// the memory soft limit, swappiness and OOM killer switch, the cpuset, device rules
// and block I/O throttling. A zero
// field leaves the kernel's value alone.
type Extra struct {
	// MemoryReservation is the memory soft limit in bytes (v1
	// memory.soft_limit_in_bytes, v2 memory.low).
	MemoryReservation int64
	// Swappiness, if set, is v1 memory.swappiness (0..100); v2 has none and refuses it.
	Swappiness *uint64
	// DisableOOMKiller turns the OOM killer off for the cgroup (v1 memory.oom_control
	// 1); v2 has no such switch and refuses it.
	DisableOOMKiller bool
	// CpusetCpus and CpusetMems are cpuset.cpus and cpuset.mems ("0-1", "0").
	CpusetCpus, CpusetMems string
	// Devices are device access rules written in order (v1 devices.allow and
	// devices.deny; v2 refuses them). Denying all needs a cgroup without children.
	Devices []DeviceRule
	// Throttle caps block I/O per device (v1 blkio.throttle.*, v2 io.max).
	Throttle []ThrottleRule
}

// settings describes e as file writes for the v1 (v2 = false) or v2 hierarchy.
func (e Extra) settings(v2 bool) ([]Setting, error) {
	var out []Setting
	if e.MemoryReservation > 0 {
		f := "memory.soft_limit_in_bytes"
		if v2 {
			f = "memory.low"
		}
		out = append(out, Setting{"memory", f, strconv.FormatInt(e.MemoryReservation, 10), false})
	}
	if e.Swappiness != nil {
		if *e.Swappiness > 100 {
			return nil, fmt.Errorf("%w: swappiness %d is above 100", ErrInvalidResources, *e.Swappiness)
		}
		if v2 {
			return nil, fmt.Errorf("%w: memory swappiness on cgroup v2", ErrNotSupported)
		}
		out = append(out, Setting{"memory", "memory.swappiness", strconv.FormatUint(*e.Swappiness, 10), false})
	}
	if e.DisableOOMKiller {
		if v2 {
			return nil, fmt.Errorf("%w: disabling the OOM killer on cgroup v2", ErrNotSupported)
		}
		out = append(out, Setting{"memory", "memory.oom_control", "1", false})
	}
	if e.CpusetCpus != "" {
		out = append(out, Setting{"cpuset", "cpuset.cpus", e.CpusetCpus, false})
	}
	if e.CpusetMems != "" {
		out = append(out, Setting{"cpuset", "cpuset.mems", e.CpusetMems, false})
	}
	dev, err := deviceSettings(e.Devices, v2)
	if err != nil {
		return nil, err
	}
	io, err := throttleSettings(e.Throttle, v2)
	if err != nil {
		return nil, err
	}
	return append(append(out, dev...), io...), nil
}

// ApplyExtra writes e into the cgroup of m. Errors name the file; a limit the
// backend lacks wraps ErrNotSupported.
func ApplyExtra(m Manager, e Extra) error {
	switch c := m.(type) {
	case *v1:
		s, err := e.settings(false)
		if err != nil {
			return newErr("update", c.path, "", err)
		}
		return apply("update", c.path, s, c.resolve)
	case *v2:
		s, err := e.settings(true)
		if err != nil {
			return newErr("update", c.path, "", err)
		}
		return c.update("update", s)
	}
	return fmt.Errorf("%w: extra limits on a %T", ErrNotSupported, m)
}
