package namespace

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// capTable lists capability names (as in the OCI spec, "CAP_" prefixed) and numbers.
// An array of constants, laid out by the linker: a map would be built at package init,
// at every start of the binary.
var capTable = [...]struct {
	name string
	num  int
}{
	{"CAP_CHOWN", unix.CAP_CHOWN},
	{"CAP_DAC_OVERRIDE", unix.CAP_DAC_OVERRIDE},
	{"CAP_DAC_READ_SEARCH", unix.CAP_DAC_READ_SEARCH},
	{"CAP_FOWNER", unix.CAP_FOWNER},
	{"CAP_FSETID", unix.CAP_FSETID},
	{"CAP_KILL", unix.CAP_KILL},
	{"CAP_SETGID", unix.CAP_SETGID},
	{"CAP_SETUID", unix.CAP_SETUID},
	{"CAP_SETPCAP", unix.CAP_SETPCAP},
	{"CAP_LINUX_IMMUTABLE", unix.CAP_LINUX_IMMUTABLE},
	{"CAP_NET_BIND_SERVICE", unix.CAP_NET_BIND_SERVICE},
	{"CAP_NET_BROADCAST", unix.CAP_NET_BROADCAST},
	{"CAP_NET_ADMIN", unix.CAP_NET_ADMIN},
	{"CAP_NET_RAW", unix.CAP_NET_RAW},
	{"CAP_IPC_LOCK", unix.CAP_IPC_LOCK},
	{"CAP_IPC_OWNER", unix.CAP_IPC_OWNER},
	{"CAP_SYS_MODULE", unix.CAP_SYS_MODULE},
	{"CAP_SYS_RAWIO", unix.CAP_SYS_RAWIO},
	{"CAP_SYS_CHROOT", unix.CAP_SYS_CHROOT},
	{"CAP_SYS_PTRACE", unix.CAP_SYS_PTRACE},
	{"CAP_SYS_PACCT", unix.CAP_SYS_PACCT},
	{"CAP_SYS_ADMIN", unix.CAP_SYS_ADMIN},
	{"CAP_SYS_BOOT", unix.CAP_SYS_BOOT},
	{"CAP_SYS_NICE", unix.CAP_SYS_NICE},
	{"CAP_SYS_RESOURCE", unix.CAP_SYS_RESOURCE},
	{"CAP_SYS_TIME", unix.CAP_SYS_TIME},
	{"CAP_SYS_TTY_CONFIG", unix.CAP_SYS_TTY_CONFIG},
	{"CAP_MKNOD", unix.CAP_MKNOD},
	{"CAP_LEASE", unix.CAP_LEASE},
	{"CAP_AUDIT_WRITE", unix.CAP_AUDIT_WRITE},
	{"CAP_AUDIT_CONTROL", unix.CAP_AUDIT_CONTROL},
	{"CAP_SETFCAP", unix.CAP_SETFCAP},
	{"CAP_MAC_OVERRIDE", unix.CAP_MAC_OVERRIDE},
	{"CAP_MAC_ADMIN", unix.CAP_MAC_ADMIN},
	{"CAP_SYSLOG", unix.CAP_SYSLOG},
	{"CAP_WAKE_ALARM", unix.CAP_WAKE_ALARM},
	{"CAP_BLOCK_SUSPEND", unix.CAP_BLOCK_SUSPEND},
	{"CAP_AUDIT_READ", unix.CAP_AUDIT_READ},
	{"CAP_PERFMON", unix.CAP_PERFMON},
	{"CAP_BPF", unix.CAP_BPF},
	{"CAP_CHECKPOINT_RESTORE", unix.CAP_CHECKPOINT_RESTORE},
}

// capNumber returns the number of a capability name.
func capNumber(name string) (int, bool) {
	for _, c := range capTable {
		if c.name == name {
			return c.num, true
		}
	}
	return 0, false
}

// DefaultCapabilities returns Docker's default capability set (moby's
// oci/caps.DefaultCapabilities), the one DefaultSpec puts in the bounding, effective
// and permitted sets.
func DefaultCapabilities() []string {
	return []string{
		"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
		"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
		"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
	}
}

// AllCapabilities returns every capability in the calling process's bounding set
// (and known to the running kernel), by number: the set of a privileged container
// (docker run --privileged). A capability the host itself lacks cannot be given.
func AllCapabilities() []string {
	byNum := make([]string, unix.CAP_LAST_CAP+1)
	for _, c := range capTable {
		byNum[c.num] = c.name
	}
	var names []string
	for c := 0; c <= lastCap() && c < len(byNum); c++ {
		if ok, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0); err == nil && ok == 1 {
			names = append(names, byNum[c])
		}
	}
	return names
}

// capSets is Process.Capabilities as bit masks.
type capSets struct {
	bounding, effective, permitted, inheritable, ambient uint64
}

var lastCap = sync.OnceValue(func() int {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return unix.CAP_LAST_CAP
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return unix.CAP_LAST_CAP
	}
	return n
})

// parseCapabilities turns the names of c into masks. An unknown name is an error
// naming the field (process.capabilities.bounding[3]); a known capability the running
// kernel lacks (above cap_last_cap) is ignored, as runc does.
func parseCapabilities(c *specs.LinuxCapabilities) (capSets, error) {
	var cs capSets
	for _, set := range []struct {
		name  string
		names []string
		mask  *uint64
	}{
		{"bounding", c.Bounding, &cs.bounding}, {"effective", c.Effective, &cs.effective},
		{"permitted", c.Permitted, &cs.permitted}, {"inheritable", c.Inheritable, &cs.inheritable},
		{"ambient", c.Ambient, &cs.ambient},
	} {
		for i, n := range set.names {
			num, ok := capNumber(strings.ToUpper(n))
			if !ok {
				return cs, fmt.Errorf("process.capabilities.%s[%d]: unknown capability %q", set.name, i, n)
			}
			if num <= lastCap() {
				*set.mask |= 1 << uint(num)
			}
		}
	}
	return cs, nil
}

// dropBoundingSet removes from the calling thread's bounding set every capability not
// in cs.bounding (needs CAP_SETPCAP, so it runs before the user switch).
func dropBoundingSet(cs capSets) error {
	for c := 0; c <= lastCap(); c++ {
		if cs.bounding&(1<<uint(c)) != 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			return inField("process.capabilities.bounding", fmt.Errorf("prctl PR_CAPBSET_DROP %d: %w", c, err))
		}
	}
	return nil
}

// setCapabilities sets the calling thread's effective, permitted and inheritable sets
// with capset, then its ambient set. It runs after the user switch (which kept the
// permitted set thanks to PR_SET_KEEPCAPS).
func setCapabilities(cs capSets) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	for i := 0; i < 2; i++ {
		shift := uint(32 * i)
		data[i] = unix.CapUserData{
			Effective:   uint32(cs.effective >> shift),
			Permitted:   uint32(cs.permitted >> shift),
			Inheritable: uint32(cs.inheritable >> shift),
		}
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return inField("process.capabilities", fmt.Errorf("capset effective %#x permitted %#x inheritable %#x: %w",
			cs.effective, cs.permitted, cs.inheritable, err))
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return inField("process.capabilities.ambient", fmt.Errorf("prctl PR_CAP_AMBIENT_CLEAR_ALL: %w", err))
	}
	for c := 0; c <= lastCap(); c++ {
		if cs.ambient&(1<<uint(c)) == 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(c), 0, 0); err != nil {
			return inField("process.capabilities.ambient", fmt.Errorf("prctl PR_CAP_AMBIENT_RAISE %d (needs it in permitted and inheritable): %w", c, err))
		}
	}
	return nil
}

// boundingCaps returns the numbers of the capabilities in the calling thread's
// bounding set.
func boundingCaps() []uintptr {
	var caps []uintptr
	for c := 0; c <= lastCap(); c++ {
		if ok, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0); err == nil && ok == 1 {
			caps = append(caps, uintptr(c))
		}
	}
	return caps
}
