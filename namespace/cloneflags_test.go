package namespace

import (
	"errors"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestCloneFlagsHostname(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ns    []specs.LinuxNamespace
		flags uintptr
		err   error
	}{
		{"new uts", []specs.LinuxNamespace{{Type: specs.MountNamespace}, {Type: specs.UTSNamespace}}, unix.CLONE_NEWNS | unix.CLONE_NEWUTS, nil},
		{"joined uts", []specs.LinuxNamespace{{Type: specs.MountNamespace}, {Type: specs.UTSNamespace, Path: "/proc/1/ns/uts"}}, unix.CLONE_NEWNS, nil},
		{"no mount ns", []specs.LinuxNamespace{{Type: specs.UTSNamespace}}, unix.CLONE_NEWUTS, nil},
		// A joined mount namespace: init's other threads get a new one.
		{"joined mnt and pid", []specs.LinuxNamespace{{Type: specs.MountNamespace, Path: "/proc/1/ns/mnt"},
			{Type: specs.PIDNamespace, Path: "/proc/1/ns/pid"}, {Type: specs.UTSNamespace}}, unix.CLONE_NEWNS | unix.CLONE_NEWUTS, nil},
		{"joined user", []specs.LinuxNamespace{{Type: specs.UserNamespace, Path: "/proc/1/ns/user"}, {Type: specs.UTSNamespace}}, 0, ErrInvalidSpec},
		{"no uts", []specs.LinuxNamespace{}, 0, ErrInvalidSpec},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &specs.Spec{Hostname: "box", Linux: &specs.Linux{Namespaces: tc.ns}}
			flags, err := cloneFlags(s)
			if !errors.Is(err, tc.err) || err == nil && flags != tc.flags {
				t.Fatalf("cloneFlags(hostname box, %v) = %#x, %v; want %#x, %v", tc.ns, flags, err, tc.flags, tc.err)
			}
		})
	}
}
