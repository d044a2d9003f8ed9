package main

import (
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff/cgroup"
	"github.com/skiffrt/skiff/namespace"
)

func newFeaturesCommand(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "features",
		Short: "Print what this runtime supports (runtime-spec features JSON)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			yes, no := true, false
			mode := cgroup.DetectMode()
			v2 := mode == cgroup.Unified
			v1 := !v2
			caps := namespace.AllCapabilities()
			sort.Strings(caps)
			f := features.Features{
				OCIVersionMin: "1.0.0",
				OCIVersionMax: specs.Version,
				Hooks:         []string{"prestart", "createRuntime", "poststart", "poststop"},
				MountOptions: []string{"async", "atime", "bind", "defaults", "dev", "diratime", "exec",
					"mand", "noatime", "nodev", "nodiratime", "noexec", "nomand", "norelatime",
					"nostrictatime", "nosuid", "private", "rbind", "relatime", "remount", "ro", "rprivate",
					"rshared", "rslave", "rw", "shared", "slave", "strictatime", "suid", "sync", "unbindable"},
				Linux: &features.Linux{
					Namespaces:   []string{"cgroup", "ipc", "mount", "network", "pid", "user", "uts"},
					Capabilities: caps,
					Cgroup:       &features.Cgroup{V1: &v1, V2: &v2, Systemd: &no, SystemdUser: &no},
					Seccomp: &features.Seccomp{Enabled: &yes,
						Actions: []string{"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL",
							"SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"},
						Operators: []string{"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE",
							"SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"},
						Archs: []string{"SCMP_ARCH_X86_64"}},
					Apparmor: &features.Apparmor{Enabled: &no},
					Selinux:  &features.Selinux{Enabled: &no},
					IntelRdt: &features.IntelRdt{Enabled: &no},
				},
				Annotations: map[string]string{"org.skiffrt.runtime.version": version},
			}
			return printJSON(f)
		},
	}
}
