package cgroup

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

func TestExtraSettingsRefuse(t *testing.T) {
	big, some := uint64(101), uint64(10)
	if _, err := (Extra{Swappiness: &big}).settings(false); !errors.Is(err, ErrInvalidResources) {
		t.Fatalf("swappiness 101: %v, want ErrInvalidResources", err)
	}
	if _, err := (Extra{Swappiness: &some}).settings(true); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("swappiness on v2: %v, want ErrNotSupported", err)
	}
	if _, err := (Extra{DisableOOMKiller: true}).settings(true); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("OOM killer switch on v2: %v, want ErrNotSupported", err)
	}
}

// TestApplyExtraCpuset checks with the kernel: a process moved into the cgroup may
// run on the cpuset's CPUs only.
func TestApplyExtraCpuset(t *testing.T) {
	requireRoot(t)
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			m := newTestCgroup(t, b, Resources{})
			if err := ApplyExtra(m, Extra{CpusetCpus: "0", CpusetMems: "0", MemoryReservation: 32 << 20}); err != nil {
				if errors.Is(err, ErrNotSupported) && b.name != "v1" {
					// A hybrid host's cgroup2 hierarchy has no controllers.
					t.Logf("%s: %v", b.name, err)
					return
				}
				t.Fatal(err)
			}
			cmd := exec.Command("sleep", "30")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
			if err := m.AddProc(cmd.Process.Pid); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/status")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), "Cpus_allowed_list:\t0\n") {
				t.Fatalf("a process in a cpuset of cpu 0 has %q", b)
			}
		})
	}
}
