package cgroup

import (
	"os/exec"
	"testing"
	"time"
)

// TestStatsCounters: a process that spins raises the cgroup's CPU time, split into
// user and system time, on every backend with the controllers.
func TestStatsCounters(t *testing.T) {
	for _, b := range backends(t) {
		if !b.limits {
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			m := newTestCgroup(t, b, Resources{})
			c := startCmd(t, exec.Command("sh", "-c", "head -c 1 >/dev/null; while :; do :; done"))
			if err := m.AddProc(c.pid()); err != nil {
				t.Fatal(err)
			}
			c.release(t)
			deadline := time.Now().Add(10 * time.Second)
			var st *Stats
			for {
				var err error
				if st, err = m.Stats(); err != nil {
					t.Fatal(err)
				}
				if st.CPUUsageNS > 100e6 || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Logf("%s: %+v", b.name, *st)
			if st.CPUUsageNS <= 100e6 {
				t.Fatalf("CPUUsageNS = %d after 10s of spinning", st.CPUUsageNS)
			}
			if st.CPUUserNS == 0 || st.CPUUserNS+st.CPUSystemNS > st.CPUUsageNS*11/10+10e6 {
				t.Errorf("user %d + system %d ns against a total of %d", st.CPUUserNS, st.CPUSystemNS, st.CPUUsageNS)
			}
			if st.MemoryLimit == 0 || st.PidsCurrent != 1 {
				t.Errorf("memory limit %d, pids %d", st.MemoryLimit, st.PidsCurrent)
			}
		})
	}
}
