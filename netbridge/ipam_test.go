package netbridge

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestIPAM(t *testing.T) {
	a := netip.MustParseAddr
	type step struct {
		op   string // "alloc" or "release"
		addr string // expected result of alloc, or address to release
		err  error
	}
	tests := []struct {
		name   string
		subnet string
		steps  []step
	}{
		{"lowest free skips network and gateway", "10.1.2.0/24", []step{
			{"alloc", "10.1.2.2", nil}, {"alloc", "10.1.2.3", nil}, {"alloc", "10.1.2.4", nil},
		}},
		{"release then reuse lowest", "10.1.2.0/24", []step{
			{"alloc", "10.1.2.2", nil}, {"alloc", "10.1.2.3", nil}, {"release", "10.1.2.2", nil},
			{"alloc", "10.1.2.2", nil}, {"alloc", "10.1.2.4", nil},
		}},
		{"slash 30 has one address", "10.9.0.0/30", []step{
			{"alloc", "10.9.0.2", nil}, {"alloc", "", ErrAddressExhausted},
		}},
		{"slash 29 never hands out broadcast", "10.9.0.8/29", []step{
			{"alloc", "10.9.0.10", nil}, {"alloc", "10.9.0.11", nil}, {"alloc", "10.9.0.12", nil},
			{"alloc", "10.9.0.13", nil}, {"alloc", "10.9.0.14", nil}, {"alloc", "", ErrAddressExhausted},
		}},
		{"release unallocated", "10.1.2.0/24", []step{
			{"release", "10.1.2.7", ErrAddressNotAllocated},
		}},
		{"slash 16 crosses octets", "172.20.0.0/16", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewIPAM(netip.MustParsePrefix(tt.subnet))
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tt.steps {
				switch s.op {
				case "alloc":
					got, err := p.Allocate("c")
					if !errors.Is(err, s.err) {
						t.Fatalf("step %d: Allocate in %s: err %v, want %v", i, tt.subnet, err, s.err)
					}
					if err != nil {
						if !strings.Contains(err.Error(), tt.subnet) {
							t.Errorf("step %d: error %q does not name subnet %s", i, err, tt.subnet)
						}
						continue
					}
					if got != a(s.addr) {
						t.Fatalf("step %d: Allocate in %s = %s, want %s", i, tt.subnet, got, s.addr)
					}
				case "release":
					if err := p.Release(a(s.addr)); !errors.Is(err, s.err) {
						t.Fatalf("step %d: Release(%s) = %v, want %v", i, s.addr, err, s.err)
					}
				}
			}
		})
	}
}

func TestIPAMSlash20Exhaustion(t *testing.T) {
	p, _ := NewIPAM(netip.MustParsePrefix("172.20.16.0/20"))
	seen := map[netip.Addr]bool{}
	for {
		ip, err := p.Allocate("x")
		if err != nil {
			if !errors.Is(err, ErrAddressExhausted) {
				t.Fatal(err)
			}
			break
		}
		if seen[ip] || ip == p.Gateway || ip == p.Subnet.Addr() || ip == p.Broadcast() {
			t.Fatalf("bad address %s", ip)
		}
		seen[ip] = true
	}
	if len(seen) != 4096-3 {
		t.Fatalf("allocated %d addresses, want %d", len(seen), 4096-3)
	}
}

func TestNewIPAMInvalid(t *testing.T) {
	for _, s := range []string{"10.1.2.1/24", "10.0.0.0/31", "10.0.0.0/32", "fd00::/64"} {
		if _, err := NewIPAM(netip.MustParsePrefix(s)); !errors.Is(err, ErrInvalidSubnet) {
			t.Errorf("NewIPAM(%s) = %v, want ErrInvalidSubnet", s, err)
		}
	}
	if _, err := NewIPAM(netip.Prefix{}); !errors.Is(err, ErrInvalidSubnet) {
		t.Errorf("NewIPAM(zero) = %v", err)
	}
}

func TestChooseSubnet(t *testing.T) {
	pfx := netip.MustParsePrefix
	tests := []struct {
		used []string
		want string
	}{
		{nil, "172.17.0.0/16"},
		{[]string{"0.0.0.0/0", "192.0.2.0/24"}, "172.17.0.0/16"},
		{[]string{"172.17.5.0/24"}, "172.18.0.0/16"},
		{[]string{"172.16.0.0/12"}, "192.168.0.0/20"},
		{[]string{"172.16.0.0/12", "192.168.1.0/24"}, "192.168.16.0/20"},
	}
	for _, tt := range tests {
		var used []usedPrefix
		for _, u := range tt.used {
			used = append(used, usedPrefix{pfx(u), "test"})
		}
		got, err := chooseSubnet(defaultPool(), used)
		if err != nil || got != pfx(tt.want) {
			t.Errorf("chooseSubnet(used=%v) = %v, %v; want %s", tt.used, got, err, tt.want)
		}
	}
	_, err := chooseSubnet(defaultPool(), []usedPrefix{{pfx("128.0.0.0/1"), "test"}})
	if !errors.Is(err, ErrNoSubnet) {
		t.Errorf("all overlapping: err = %v, want ErrNoSubnet", err)
	}
}

func TestHostVethName(t *testing.T) {
	nid := strings.Repeat("ab", 32)
	for _, cid := range []string{"0123456789abcdef", "x", "my container/with slash", strings.Repeat("z", 200)} {
		n := hostVethName(cid, nid)
		if len(n) > 15 || validIfName(n) != nil {
			t.Errorf("hostVethName(%q) = %q: invalid", cid, n)
		}
	}
	if a, b := hostVethName("container1", nid), hostVethName("container2", nid); a == b {
		t.Errorf("containers with a common prefix share the veth name %q", a)
	}
	if a, b := hostVethName("c", nid), hostVethName("c", strings.Repeat("cd", 32)); a == b {
		t.Errorf("one container on two networks gets %q twice", a)
	}
}

func TestIPAMRequestedAddresses(t *testing.T) {
	p, err := NewIPAM(netip.MustParsePrefix("10.9.0.0/24"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetGateway(netip.MustParseAddr("10.9.0.254")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ip, owner string
		want      error
	}{
		{"10.9.0.23", "a", nil},
		{"10.9.0.23", "a", nil}, // one's own again
		{"10.9.0.23", "b", ErrAddressInUse},
		{"10.9.0.254", "b", ErrInvalidAddress}, // the gateway
		{"10.9.0.0", "b", ErrInvalidAddress},
		{"10.9.0.255", "b", ErrInvalidAddress},
		{"10.9.1.5", "b", ErrInvalidAddress},
		{"10.9.0.1", "b", nil}, // no longer the gateway
	} {
		err := p.AllocateAddr(netip.MustParseAddr(tc.ip), tc.owner)
		if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("AllocateAddr(%s, %s) = %v, want %v", tc.ip, tc.owner, err, tc.want)
		}
	}
	// Allocate skips the requested ones.
	if a, err := p.Allocate("c"); err != nil || a != netip.MustParseAddr("10.9.0.2") {
		t.Errorf("Allocate after requests: %s, %v", a, err)
	}
	if err := p.SetGateway(netip.MustParseAddr("10.9.0.9")); !errors.Is(err, ErrInvalidAddress) {
		t.Errorf("SetGateway with addresses allocated: %v", err)
	}
	for _, gw := range []string{"10.9.0.0", "10.9.0.255", "10.8.0.1"} {
		q, _ := NewIPAM(netip.MustParsePrefix("10.9.0.0/24"))
		if err := q.SetGateway(netip.MustParseAddr(gw)); !errors.Is(err, ErrInvalidAddress) {
			t.Errorf("SetGateway(%s): %v, want ErrInvalidAddress", gw, err)
		}
	}
}

func TestIPAMRangeAndAux(t *testing.T) {
	a := netip.MustParseAddr
	p, err := NewIPAM(netip.MustParsePrefix("172.28.0.0/16"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetRange(netip.MustParsePrefix("172.29.0.0/24")); !errors.Is(err, ErrInvalidSubnet) {
		t.Errorf("a range outside the subnet: %v", err)
	}
	if err := p.SetRange(netip.MustParsePrefix("172.28.5.0/30")); err != nil {
		t.Fatal(err)
	}
	if err := p.SetAux(map[string]netip.Addr{"a": a("172.28.5.1"), "b": a("172.28.1.6")}); err != nil {
		t.Fatal(err)
	}
	if err := p.SetAux(map[string]netip.Addr{"x": a("10.0.0.1")}); !errors.Is(err, ErrInvalidAddress) {
		t.Errorf("an auxiliary address outside the subnet: %v", err)
	}
	// In 172.28.5.0/30 (.0 is a host address of the /16), .1 is auxiliary.
	for _, want := range []string{"172.28.5.0", "172.28.5.2", "172.28.5.3"} {
		if got, err := p.Allocate("c"); err != nil || got != a(want) {
			t.Errorf("Allocate = %s, %v; want %s", got, err, want)
		}
	}
	if _, err := p.Allocate("c"); !errors.Is(err, ErrAddressExhausted) {
		t.Errorf("Allocate past the range: %v", err)
	}
	if err := p.AllocateAddr(a("172.28.1.6"), "d"); !errors.Is(err, ErrInvalidAddress) {
		t.Errorf("requesting an auxiliary address: %v", err)
	}
	if err := p.AllocateAddr(a("172.28.9.9"), "d"); err != nil {
		t.Errorf("requesting an address outside the range but in the subnet: %v", err)
	}
}
