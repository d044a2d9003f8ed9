package main

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestCgroupPath: linux.cgroupsPath as runc's cgroupfs driver reads it, including the
// systemd-form path containerd's CRI writes for a pod whose cgroup parent ends in .slice.
func TestCgroupPath(t *testing.T) {
	for _, tc := range []struct{ path, want string }{
		{"", "/c1"},
		{"/pods/c1", "/pods/c1"},
		{"pods/c1", "/pods/c1"},
		{"/a/../b//c1", "/b/c1"},
		{"test.slice:cri-containerd:c1", "/test.slice:cri-containerd:c1"},
	} {
		got, err := cgroupPath(&specs.Spec{Linux: &specs.Linux{CgroupsPath: tc.path}}, "c1")
		if err != nil || got != tc.want {
			t.Errorf("cgroupPath(%q) = %q, %v; want %q", tc.path, got, err, tc.want)
		}
	}
	if got, err := cgroupPath(&specs.Spec{}, "c2"); err != nil || got != "/c2" {
		t.Errorf("cgroupPath without linux = %q, %v; want /c2", got, err)
	}
}
