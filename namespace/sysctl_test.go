package namespace

import (
	"errors"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestApplySysctlsRefusesHostSysctls(t *testing.T) {
	newNet := []specs.LinuxNamespace{{Type: specs.NetworkNamespace}, {Type: specs.IPCNamespace}}
	for _, tc := range []struct {
		name   string
		sysctl map[string]string
		ns     []specs.LinuxNamespace
	}{
		{"not namespaced", map[string]string{"kernel.panic": "1"}, newNet},
		{"vm is global", map[string]string{"vm.swappiness": "1"}, newNet},
		{"net without a net namespace", map[string]string{"net.ipv4.ip_forward": "1"}, []specs.LinuxNamespace{{Type: specs.IPCNamespace}}},
		{"ipc without an ipc namespace", map[string]string{"kernel.shmmni": "1"}, []specs.LinuxNamespace{{Type: specs.NetworkNamespace}}},
		{"the host's net namespace by path", map[string]string{"net.ipv4.ip_forward": "1"}, []specs.LinuxNamespace{{Type: specs.NetworkNamespace, Path: "/proc/self/ns/net"}}},
		{"a prefix is not a key", map[string]string{"kernel.semx": "1"}, newNet},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &specs.Spec{Linux: &specs.Linux{Sysctl: tc.sysctl, Namespaces: tc.ns}}
			if err := ApplySysctls(1, s); !errors.Is(err, ErrInvalidSpec) {
				t.Fatalf("ApplySysctls(%v, namespaces %v) = %v, want ErrInvalidSpec", tc.sysctl, tc.ns, err)
			}
		})
	}
	if err := ApplySysctls(1, &specs.Spec{Linux: &specs.Linux{}}); err != nil {
		t.Fatalf("no sysctls: %v", err)
	}
}
