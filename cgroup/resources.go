package cgroup

import (
	"fmt"
	"strconv"

	"github.com/containerd/cgroups/v3/cgroup2"
)

// Resources are the limits of one cgroup. The zero value means "no limit" for every field,
// and Update with a zero field resets that limit to the kernel's default.
type Resources struct {
	// MemoryLimit is the memory limit in bytes; 0 = unlimited.
	MemoryLimit int64
	// MemorySwap is the limit of memory+swap in bytes (Docker's --memory-swap). 0 = same as
	// MemoryLimit (no swap beyond the memory limit) when MemoryLimit is set, -1 = unlimited
	// swap. It must be >= MemoryLimit, and it needs MemoryLimit. Hosts without swap
	// accounting ignore it.
	MemorySwap int64
	// PidsLimit is the maximum number of tasks (processes and threads); 0 or -1 = unlimited.
	PidsLimit int64
	// CPUQuota is the CPU time in µs the cgroup may use per CPUPeriod; 0 or -1 = unlimited.
	// At least 1000 when set. Docker's --cpus=0.5 is CPUQuota 50000 with CPUPeriod 100000.
	CPUQuota int64
	// CPUPeriod is the quota period in µs, 1000..1000000; 0 = 100000.
	CPUPeriod uint64
	// CPUShares is the relative CPU weight (v1 cpu.shares, default 1024; converted to v2
	// cpu.weight); 0 = default.
	CPUShares uint64
}

// Setting is one control file write: the value Skiff writes into File of Controller.
// On v1, File lives in the controller's hierarchy (/sys/fs/cgroup/<Controller>/<path>/File);
// on v2 all files live in the cgroup's one directory and Controller names what must be
// enabled in the parents' cgroup.subtree_control.
type Setting struct {
	Controller string // "memory", "pids", "cpu"
	File       string // e.g. "memory.limit_in_bytes", "pids.max", "cpu.max"
	Value      string // e.g. "16777216", "max", "50000 100000"
	// Optional settings are skipped when the file or controller is absent: they only reset
	// a limit to its default, or (swap) are ignored on hosts without swap accounting.
	Optional bool
}

// String returns "File=Value".
func (s Setting) String() string { return s.File + "=" + s.Value }

const (
	defaultCPUPeriod = 100000
	defaultCPUShares = 1024
	defaultCPUWeight = 100
)

// Validate checks the ranges and the consistency of r. Errors wrap ErrInvalidResources and
// name the field.
func (r Resources) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidResources, fmt.Sprintf(format, a...))
	}
	switch {
	case r.MemoryLimit < 0:
		return bad("MemoryLimit %d is negative", r.MemoryLimit)
	case r.MemorySwap < -1:
		return bad("MemorySwap %d is below -1", r.MemorySwap)
	case r.MemorySwap > 0 && r.MemoryLimit == 0:
		return bad("MemorySwap %d set without MemoryLimit", r.MemorySwap)
	case r.MemorySwap > 0 && r.MemorySwap < r.MemoryLimit:
		return bad("MemorySwap %d is below MemoryLimit %d", r.MemorySwap, r.MemoryLimit)
	case r.PidsLimit < -1:
		return bad("PidsLimit %d is below -1", r.PidsLimit)
	case r.CPUQuota < -1:
		return bad("CPUQuota %d is below -1", r.CPUQuota)
	case r.CPUQuota > 0 && r.CPUQuota < 1000:
		return bad("CPUQuota %d is below 1000µs", r.CPUQuota)
	case r.CPUPeriod != 0 && (r.CPUPeriod < 1000 || r.CPUPeriod > 1000000):
		return bad("CPUPeriod %d is outside 1000..1000000µs", r.CPUPeriod)
	}
	return nil
}

func (r Resources) period() uint64 {
	if r.CPUPeriod == 0 {
		return defaultCPUPeriod
	}
	return r.CPUPeriod
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// V1Settings describes r as cgroup v1 file writes, in the order they are applied. Every
// limit is present: a zero field becomes an Optional reset to the default ("-1", "max",
// "1024"). memory.memsw.limit_in_bytes is always Optional (absent without swap accounting).
// The apply step swaps a pair of writes of one controller when the kernel refuses the first
// with EINVAL (memory limit vs memsw, cfs period vs quota).
func (r Resources) V1Settings() ([]Setting, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	var out []Setting
	// memory
	if r.MemoryLimit > 0 {
		out = append(out, Setting{"memory", "memory.limit_in_bytes", itoa(r.MemoryLimit), false})
	} else {
		out = append(out, Setting{"memory", "memory.limit_in_bytes", "-1", true})
	}
	memsw := int64(-1)
	switch {
	case r.MemoryLimit > 0 && r.MemorySwap == 0:
		memsw = r.MemoryLimit
	case r.MemorySwap > 0:
		memsw = r.MemorySwap
	}
	out = append(out, Setting{"memory", "memory.memsw.limit_in_bytes", itoa(memsw), true})
	// pids
	if r.PidsLimit > 0 {
		out = append(out, Setting{"pids", "pids.max", itoa(r.PidsLimit), false})
	} else {
		out = append(out, Setting{"pids", "pids.max", "max", true})
	}
	// cpu
	quotaSet := r.CPUQuota > 0
	out = append(out, Setting{"cpu", "cpu.cfs_period_us", strconv.FormatUint(r.period(), 10), !quotaSet && r.CPUPeriod == 0})
	if quotaSet {
		out = append(out, Setting{"cpu", "cpu.cfs_quota_us", itoa(r.CPUQuota), false})
	} else {
		out = append(out, Setting{"cpu", "cpu.cfs_quota_us", "-1", true})
	}
	if r.CPUShares > 0 {
		out = append(out, Setting{"cpu", "cpu.shares", strconv.FormatUint(r.CPUShares, 10), false})
	} else {
		out = append(out, Setting{"cpu", "cpu.shares", strconv.Itoa(defaultCPUShares), true})
	}
	return out, nil
}

// V2Settings describes r as cgroup v2 file writes: memory.max, memory.swap.max (swap only,
// i.e. MemorySwap - MemoryLimit), pids.max, cpu.max ("quota period" or "max period") and
// cpu.weight (converted from CPUShares like runc and containerd do: 1024 shares → 100).
// A zero field becomes an Optional reset to the default; memory.swap.max is always
// Optional (absent without swap accounting).
func (r Resources) V2Settings() ([]Setting, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	var out []Setting
	if r.MemoryLimit > 0 {
		out = append(out, Setting{"memory", "memory.max", itoa(r.MemoryLimit), false})
	} else {
		out = append(out, Setting{"memory", "memory.max", "max", true})
	}
	swap := "max"
	switch {
	case r.MemoryLimit > 0 && r.MemorySwap == 0:
		swap = "0"
	case r.MemorySwap > 0:
		swap = itoa(r.MemorySwap - r.MemoryLimit)
	}
	out = append(out, Setting{"memory", "memory.swap.max", swap, true})
	if r.PidsLimit > 0 {
		out = append(out, Setting{"pids", "pids.max", itoa(r.PidsLimit), false})
	} else {
		out = append(out, Setting{"pids", "pids.max", "max", true})
	}
	period := strconv.FormatUint(r.period(), 10)
	if r.CPUQuota > 0 {
		out = append(out, Setting{"cpu", "cpu.max", itoa(r.CPUQuota) + " " + period, false})
	} else {
		out = append(out, Setting{"cpu", "cpu.max", "max " + period, r.CPUPeriod == 0})
	}
	if r.CPUShares > 0 {
		w := cgroup2.ConvertCPUSharesToCgroupV2Value(r.CPUShares)
		out = append(out, Setting{"cpu", "cpu.weight", strconv.FormatUint(w, 10), false})
	} else {
		out = append(out, Setting{"cpu", "cpu.weight", strconv.Itoa(defaultCPUWeight), true})
	}
	return out, nil
}

// kernelDefaults are the values a freshly made cgroup already has, per file.
var kernelDefaults = map[string]string{
	"memory.limit_in_bytes": "-1", "memory.memsw.limit_in_bytes": "-1", "pids.max": "max",
	"cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "-1", "cpu.shares": "1024",
	"memory.max": "max", "memory.swap.max": "max", "cpu.max": "max 100000", "cpu.weight": "100",
}

// withoutDefaults drops the Optional settings that only restore what a freshly made
// cgroup has anyway: creating a container's cgroup then writes only its real limits
// (six fewer file writes per container start).
func withoutDefaults(settings []Setting) []Setting {
	out := settings[:0:0]
	for _, s := range settings {
		if s.Optional && kernelDefaults[s.File] == s.Value {
			continue
		}
		out = append(out, s)
	}
	return out
}
