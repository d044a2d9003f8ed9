package skiff

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ContainerStats is one sample of a container's resource usage (docker stats), read
// from its cgroup and its network namespace. A stopped container has only Read set.
type ContainerStats struct {
	// Read is when the sample was taken.
	Read time.Time
	// CPUUsageNS is the CPU time the container consumed since it started, split into
	// CPUUserNS and CPUSystemNS.
	CPUUsageNS, CPUUserNS, CPUSystemNS uint64
	// SystemCPUNS is the host's CPU time (all CPUs, every state) since boot, the base
	// Docker's clients compute a CPU percentage against; OnlineCPUs is the number of
	// CPUs online.
	SystemCPUNS uint64
	OnlineCPUs  int
	// MemoryUsage is the memory charged to the container, MemoryInactiveFile its part
	// of reclaimable page cache, and MemoryLimit its limit (the host's memory when
	// unlimited).
	MemoryUsage, MemoryInactiveFile, MemoryLimit uint64
	// PidsCurrent is the number of tasks; PidsLimit their limit (0: none).
	PidsCurrent, PidsLimit uint64
	// Networks are the counters of the container's interfaces by their name inside
	// it (eth0, ...), loopback left out. Empty with NetworkNone and NetworkHost.
	Networks map[string]NetworkStats
}

// NetworkStats are the counters of one network interface.
type NetworkStats struct {
	RxBytes, RxPackets, RxErrors, RxDropped uint64
	TxBytes, TxPackets, TxErrors, TxDropped uint64
}

// Stats samples the container's resource usage. A container that is not running
// (created, exited) gives a sample with only Read and the host's CPU figures set, as
// Docker's does.
func (c *Container) Stats(ctx context.Context) (*ContainerStats, error) {
	st := c.State()
	if c.isRemoved() {
		return nil, fmt.Errorf("stats of container %s: %w", shortID(c.id), ErrNotFound)
	}
	s := &ContainerStats{Read: time.Now().UTC()}
	var err error
	if s.SystemCPUNS, s.OnlineCPUs, err = hostCPU(); err != nil {
		return nil, fmt.Errorf("stats of container %s: %w", shortID(c.id), err)
	}
	if st.Status != StatusRunning && st.Status != StatusPaused {
		return s, nil
	}
	c.mu.Lock()
	cg := c.cg
	c.mu.Unlock()
	if cg != nil {
		cs, err := cg.Stats()
		if err != nil {
			return nil, fmt.Errorf("stats of container %s: %w", shortID(c.id), err)
		}
		s.CPUUsageNS, s.CPUUserNS, s.CPUSystemNS = cs.CPUUsageNS, cs.CPUUserNS, cs.CPUSystemNS
		s.MemoryUsage, s.MemoryInactiveFile, s.MemoryLimit = cs.MemoryUsage, cs.MemoryInactiveFile, cs.MemoryLimit
		s.PidsCurrent, s.PidsLimit = cs.PidsCurrent, cs.PidsLimit
	}
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		if host := uint64(si.Totalram) * uint64(si.Unit); s.MemoryLimit == 0 || s.MemoryLimit > host {
			s.MemoryLimit = host
		}
	}
	if st.Network != NetworkHost && st.Pid > 0 {
		// /proc/<pid>/net/dev lists the interfaces of that process's network namespace.
		if data, err := os.ReadFile("/proc/" + strconv.Itoa(st.Pid) + "/net/dev"); err == nil {
			s.Networks = parseNetDev(data)
		}
	}
	return s, nil
}

// hostCPU reads the host's CPU time since boot (in ns) and its online CPUs from
// /proc/stat.
func hostCPU() (uint64, int, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	var total uint64
	cpus := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || !strings.HasPrefix(f[0], "cpu") {
			continue
		}
		if f[0] != "cpu" {
			cpus++
			continue
		}
		for _, v := range f[1:] {
			n, _ := strconv.ParseUint(v, 10, 64)
			total += n
		}
	}
	const clockTicks = 100 // USER_HZ, fixed at 100 on Linux
	return total * (1e9 / clockTicks), cpus, nil
}

// parseNetDev reads /proc/net/dev: two header lines, then "name: rx(8) tx(8)".
func parseNetDev(data []byte) map[string]NetworkStats {
	out := map[string]NetworkStats{}
	for i, line := range strings.Split(string(data), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if i < 2 || !ok {
			continue
		}
		name = strings.TrimSpace(name)
		f := strings.Fields(rest)
		if name == "lo" || len(f) < 16 {
			continue
		}
		n := make([]uint64, 16)
		for j := range n {
			n[j], _ = strconv.ParseUint(f[j], 10, 64)
		}
		out[name] = NetworkStats{RxBytes: n[0], RxPackets: n[1], RxErrors: n[2], RxDropped: n[3],
			TxBytes: n[8], TxPackets: n[9], TxErrors: n[10], TxDropped: n[11]}
	}
	return out
}
