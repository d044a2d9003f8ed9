package cgroup_test

import (
	"context"
	"fmt"
	"os/exec"
	"time"

	"github.com/skiffrt/skiff/cgroup"
)

// Resources are described as control file writes before anything touches the kernel.
// Docker's `--memory 16m --pids-limit 8 --cpus 0.5` on v1 and v2:
func ExampleResources_V1Settings() {
	r := cgroup.Resources{MemoryLimit: 16 << 20, PidsLimit: 8, CPUQuota: 50000}
	v1, _ := r.V1Settings()
	for _, s := range v1 {
		if !s.Optional {
			fmt.Println("v1", s.Controller, s)
		}
	}
	v2, _ := r.V2Settings()
	for _, s := range v2 {
		if !s.Optional {
			fmt.Println("v2", s.Controller, s)
		}
	}
	// Output:
	// v1 memory memory.limit_in_bytes=16777216
	// v1 pids pids.max=8
	// v1 cpu cpu.cfs_period_us=100000
	// v1 cpu cpu.cfs_quota_us=50000
	// v2 memory memory.max=16777216
	// v2 pids pids.max=8
	// v2 cpu cpu.max=50000 100000
}

// The engine's use of a cgroup: create it with limits, put the child in it before it
// runs, pause and resume, and clean up. Needs root.
func Example() {
	m, err := cgroup.New("/skiff/example", cgroup.Resources{MemoryLimit: 64 << 20, PidsLimit: 64})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Delete()
	defer m.Kill()

	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		fmt.Println(err)
		return
	}
	go cmd.Wait() // reap it once Kill has run
	if err := m.AddProc(cmd.Process.Pid); err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = m.Freeze(ctx) // docker pause
	_ = m.Thaw(ctx)   // docker unpause
	oom, _ := m.OOMKilled()
	fmt.Println("oom killed:", oom)
}
