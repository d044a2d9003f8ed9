package cgroup

import (
	"errors"
	"strings"
	"testing"
)

// render joins settings as "file=value" with a trailing "?" for Optional ones.
func render(ss []Setting) string {
	var parts []string
	for _, s := range ss {
		p := s.String()
		if s.Optional {
			p += "?"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " ")
}

func TestSettings(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name   string
		r      Resources
		v1, v2 string
	}{
		{
			name: "zero resets everything",
			r:    Resources{},
			v1:   "memory.limit_in_bytes=-1? memory.memsw.limit_in_bytes=-1? pids.max=max? cpu.cfs_period_us=100000? cpu.cfs_quota_us=-1? cpu.shares=1024?",
			v2:   "memory.max=max? memory.swap.max=max? pids.max=max? cpu.max=max 100000? cpu.weight=100?",
		},
		{
			name: "memory without swap",
			r:    Resources{MemoryLimit: 16 * mib},
			v1:   "memory.limit_in_bytes=16777216 memory.memsw.limit_in_bytes=16777216? pids.max=max? cpu.cfs_period_us=100000? cpu.cfs_quota_us=-1? cpu.shares=1024?",
			v2:   "memory.max=16777216 memory.swap.max=0? pids.max=max? cpu.max=max 100000? cpu.weight=100?",
		},
		{
			name: "memory with swap",
			r:    Resources{MemoryLimit: 16 * mib, MemorySwap: 48 * mib},
			v1:   "memory.limit_in_bytes=16777216 memory.memsw.limit_in_bytes=50331648? pids.max=max? cpu.cfs_period_us=100000? cpu.cfs_quota_us=-1? cpu.shares=1024?",
			v2:   "memory.max=16777216 memory.swap.max=33554432? pids.max=max? cpu.max=max 100000? cpu.weight=100?",
		},
		{
			name: "memory with unlimited swap",
			r:    Resources{MemoryLimit: 16 * mib, MemorySwap: -1},
			v1:   "memory.limit_in_bytes=16777216 memory.memsw.limit_in_bytes=-1? pids.max=max? cpu.cfs_period_us=100000? cpu.cfs_quota_us=-1? cpu.shares=1024?",
			v2:   "memory.max=16777216 memory.swap.max=max? pids.max=max? cpu.max=max 100000? cpu.weight=100?",
		},
		{
			name: "pids",
			r:    Resources{PidsLimit: 8},
			v1:   "memory.limit_in_bytes=-1? memory.memsw.limit_in_bytes=-1? pids.max=8 cpu.cfs_period_us=100000? cpu.cfs_quota_us=-1? cpu.shares=1024?",
			v2:   "memory.max=max? memory.swap.max=max? pids.max=8 cpu.max=max 100000? cpu.weight=100?",
		},
		{
			name: "pids -1 is unlimited",
			r:    Resources{PidsLimit: -1},
			v1:   "memory.limit_in_bytes=-1? memory.memsw.limit_in_bytes=-1? pids.max=max? cpu.cfs_period_us=100000? cpu.cfs_quota_us=-1? cpu.shares=1024?",
			v2:   "memory.max=max? memory.swap.max=max? pids.max=max? cpu.max=max 100000? cpu.weight=100?",
		},
		{
			name: "cpus 0.5 with default period",
			r:    Resources{CPUQuota: 50000},
			v1:   "memory.limit_in_bytes=-1? memory.memsw.limit_in_bytes=-1? pids.max=max? cpu.cfs_period_us=100000 cpu.cfs_quota_us=50000 cpu.shares=1024?",
			v2:   "memory.max=max? memory.swap.max=max? pids.max=max? cpu.max=50000 100000 cpu.weight=100?",
		},
		{
			name: "quota and period",
			r:    Resources{CPUQuota: 150000, CPUPeriod: 50000},
			v1:   "memory.limit_in_bytes=-1? memory.memsw.limit_in_bytes=-1? pids.max=max? cpu.cfs_period_us=50000 cpu.cfs_quota_us=150000 cpu.shares=1024?",
			v2:   "memory.max=max? memory.swap.max=max? pids.max=max? cpu.max=150000 50000 cpu.weight=100?",
		},
		{
			name: "period alone",
			r:    Resources{CPUPeriod: 50000},
			v1:   "memory.limit_in_bytes=-1? memory.memsw.limit_in_bytes=-1? pids.max=max? cpu.cfs_period_us=50000 cpu.cfs_quota_us=-1? cpu.shares=1024?",
			v2:   "memory.max=max? memory.swap.max=max? pids.max=max? cpu.max=max 50000 cpu.weight=100?",
		},
		{
			name: "default shares map to default weight",
			r:    Resources{CPUShares: 1024},
			v1:   "memory.limit_in_bytes=-1? memory.memsw.limit_in_bytes=-1? pids.max=max? cpu.cfs_period_us=100000? cpu.cfs_quota_us=-1? cpu.shares=1024",
			v2:   "memory.max=max? memory.swap.max=max? pids.max=max? cpu.max=max 100000? cpu.weight=100",
		},
		{
			name: "min and max shares",
			r:    Resources{CPUShares: 2},
			v1:   "memory.limit_in_bytes=-1? memory.memsw.limit_in_bytes=-1? pids.max=max? cpu.cfs_period_us=100000? cpu.cfs_quota_us=-1? cpu.shares=2",
			v2:   "memory.max=max? memory.swap.max=max? pids.max=max? cpu.max=max 100000? cpu.weight=1",
		},
		{
			name: "max shares",
			r:    Resources{CPUShares: 262144},
			v1:   "memory.limit_in_bytes=-1? memory.memsw.limit_in_bytes=-1? pids.max=max? cpu.cfs_period_us=100000? cpu.cfs_quota_us=-1? cpu.shares=262144",
			v2:   "memory.max=max? memory.swap.max=max? pids.max=max? cpu.max=max 100000? cpu.weight=10000",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v1, err := tt.r.V1Settings()
			if err != nil {
				t.Fatalf("V1Settings(%+v): %v", tt.r, err)
			}
			if got := render(v1); got != tt.v1 {
				t.Errorf("V1Settings(%+v)\n got %s\nwant %s", tt.r, got, tt.v1)
			}
			v2, err := tt.r.V2Settings()
			if err != nil {
				t.Fatalf("V2Settings(%+v): %v", tt.r, err)
			}
			if got := render(v2); got != tt.v2 {
				t.Errorf("V2Settings(%+v)\n got %s\nwant %s", tt.r, got, tt.v2)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		r     Resources
		field string // "" = valid
	}{
		{Resources{}, ""},
		{Resources{MemoryLimit: 1 << 20, MemorySwap: 1 << 20}, ""},
		{Resources{MemoryLimit: -1}, "MemoryLimit"},
		{Resources{MemoryLimit: 1 << 20, MemorySwap: -2}, "MemorySwap"},
		{Resources{MemorySwap: 1 << 20}, "MemorySwap"},
		{Resources{MemoryLimit: 2 << 20, MemorySwap: 1 << 20}, "MemorySwap"},
		{Resources{PidsLimit: -2}, "PidsLimit"},
		{Resources{CPUQuota: -2}, "CPUQuota"},
		{Resources{CPUQuota: 999}, "CPUQuota"},
		{Resources{CPUQuota: 1000}, ""},
		{Resources{CPUPeriod: 999}, "CPUPeriod"},
		{Resources{CPUPeriod: 1000001}, "CPUPeriod"},
		{Resources{CPUPeriod: 1000000}, ""},
	}
	for _, tt := range tests {
		err := tt.r.Validate()
		if tt.field == "" {
			if err != nil {
				t.Errorf("Validate(%+v) = %v, want nil", tt.r, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidResources) || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalidResources naming %s", tt.r, err, tt.field)
		}
		if _, err := tt.r.V1Settings(); !errors.Is(err, ErrInvalidResources) {
			t.Errorf("V1Settings(%+v) = %v, want ErrInvalidResources", tt.r, err)
		}
		if _, err := tt.r.V2Settings(); !errors.Is(err, ErrInvalidResources) {
			t.Errorf("V2Settings(%+v) = %v, want ErrInvalidResources", tt.r, err)
		}
	}
}

func TestModeString(t *testing.T) {
	for m, want := range map[Mode]string{Unavailable: "unavailable", Legacy: "legacy", Hybrid: "hybrid", Unified: "unified"} {
		if m.String() != want {
			t.Errorf("Mode(%d).String() = %q, want %q", int(m), m.String(), want)
		}
	}
	t.Logf("this host: %s", DetectMode())
}

func TestWithoutDefaultsKeepsRealLimits(t *testing.T) {
	for _, tc := range []struct {
		r    Resources
		want []string
	}{
		{Resources{}, nil},
		{Resources{MemoryLimit: 1 << 20}, []string{"memory.limit_in_bytes=1048576", "memory.memsw.limit_in_bytes=1048576"}},
		{Resources{PidsLimit: 16, CPUQuota: 50000}, []string{"pids.max=16", "cpu.cfs_period_us=100000", "cpu.cfs_quota_us=50000"}},
	} {
		s, err := tc.r.V1Settings()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, x := range withoutDefaults(s) {
			got = append(got, x.File+"="+x.Value)
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%+v: writes %q, want %q", tc.r, got, tc.want)
		}
	}
}
