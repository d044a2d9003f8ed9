package namespace

import (
	"log/slog"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultMaskedPaths are Docker's default masked paths.
var DefaultMaskedPaths = []string{
	"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
	"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
	"/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
}

// DefaultReadonlyPaths are Docker's default read-only paths.
var DefaultReadonlyPaths = []string{
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
}

// DefaultMounts returns Docker's default mounts: /proc, a /dev tmpfs (init fills it
// with the standard devices), /dev/pts (its own instance), /dev/shm, /dev/mqueue and
// a read-only /sys.
func DefaultMounts() []specs.Mount {
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
	}
}

// DefaultSpec returns a spec for running args as root in rootfs (an already mounted
// root filesystem) with Docker's defaults: new mount, PID, UTS, IPC and network
// namespaces, DefaultMounts, masked and read-only paths, PATH=DefaultPath, cwd /,
// DefaultCapabilities in the bounding, effective and permitted sets, and Docker's
// seccomp profile for them (DefaultSeccomp). Callers adjust it (Hostname, Env, User,
// Mounts, ...) before Create; a privileged container sets Process.Capabilities to
// AllCapabilities in every set but ambient, Linux.Seccomp to nil and clears
// MaskedPaths and ReadonlyPaths. When changing the capabilities, recompute Linux.Seccomp
// with DefaultSeccomp: the profile allows some syscalls only with some capabilities.
func DefaultSpec(rootfs string, args ...string) *specs.Spec {
	caps := DefaultCapabilities()
	s := &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: rootfs},
		Process: &specs.Process{
			Args: args,
			Env:  []string{"PATH=" + DefaultPath},
			Cwd:  "/",
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  caps,
				Effective: append([]string(nil), caps...),
				Permitted: append([]string(nil), caps...),
			},
		},
		Mounts: DefaultMounts(),
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.MountNamespace}, {Type: specs.PIDNamespace},
				{Type: specs.UTSNamespace}, {Type: specs.IPCNamespace},
				{Type: specs.NetworkNamespace},
			},
			MaskedPaths:   append([]string(nil), DefaultMaskedPaths...),
			ReadonlyPaths: append([]string(nil), DefaultReadonlyPaths...),
		},
	}
	// GetDefaultProfile fails only if uname's release cannot be parsed.
	sc, err := DefaultSeccomp(s.Process.Capabilities)
	if err != nil {
		slog.Warn("namespace: default spec without seccomp", "err", err)
	}
	s.Linux.Seccomp = sc
	return s
}
