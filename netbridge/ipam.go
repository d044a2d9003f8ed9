package netbridge

import (
	"fmt"
	"maps"
	"net/netip"
	"sort"
)

// IPAM hands out IPv4 addresses of one subnet. It is a pure value: no I/O, no locking.
// The Manager persists it per network (inside the network's JSON file) and only touches it
// while holding the state-dir flock, which is what makes allocation safe across processes.
//
// In a subnet such as 10.1.2.0/24, the network address (10.1.2.0), the gateway (by default
// the first host, 10.1.2.1) and the broadcast address (10.1.2.255) are never handed out.
// Allocate returns the lowest free address, so addresses are reused after Release.
type IPAM struct {
	// Subnet is the IPv4 prefix, host bits zero, at most /30.
	Subnet netip.Prefix `json:"subnet"`
	// Gateway is the bridge's address inside Subnet.
	Gateway netip.Addr `json:"gateway"`
	// Allocated maps each handed-out address to its owner (a container id).
	Allocated map[netip.Addr]string `json:"allocated,omitempty"`
	// Range, when set, is the part of Subnet that Allocate picks from (docker network
	// create --ip-range); requested addresses (AllocateAddr) may lie anywhere in Subnet.
	Range netip.Prefix `json:"range,omitzero"`
	// Aux are addresses never handed out, by name (docker --aux-address).
	Aux map[string]netip.Addr `json:"aux,omitempty"`
}

// NewIPAM returns an empty IPAM for subnet with the gateway at the first host address.
func NewIPAM(subnet netip.Prefix) (*IPAM, error) {
	if err := validSubnet(subnet); err != nil {
		return nil, err
	}
	return &IPAM{Subnet: subnet, Gateway: subnet.Addr().Next()}, nil
}

func validSubnet(p netip.Prefix) error {
	switch {
	case !p.IsValid() || !p.Addr().Is4():
		return fmt.Errorf("%w: %s: not an IPv4 prefix", ErrInvalidSubnet, p)
	case p.Masked() != p:
		return fmt.Errorf("%w: %s: host bits set (did you mean %s?)", ErrInvalidSubnet, p, p.Masked())
	case p.Bits() > 30:
		return fmt.Errorf("%w: %s: smaller than /30", ErrInvalidSubnet, p)
	}
	return nil
}

// Broadcast returns the last address of the subnet.
func (p *IPAM) Broadcast() netip.Addr { return lastAddr(p.Subnet) }

func lastAddr(pfx netip.Prefix) netip.Addr {
	a := pfx.Addr().As4()
	host := uint32(1)<<(32-pfx.Bits()) - 1
	v := (uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// reserved reports whether a may never be handed out.
func (p *IPAM) reserved(a netip.Addr) bool {
	if a == p.Subnet.Addr() || a == p.Gateway || a == p.Broadcast() {
		return true
	}
	for _, x := range p.Aux {
		if x == a {
			return true
		}
	}
	return false
}

// SetRange limits Allocate to r, a prefix inside the subnet.
func (p *IPAM) SetRange(r netip.Prefix) error {
	if !r.IsValid() || !r.Addr().Is4() || r.Masked() != r || r.Bits() < p.Subnet.Bits() || !p.Subnet.Contains(r.Addr()) {
		return fmt.Errorf("%w: range %s is not a prefix inside %s", ErrInvalidSubnet, r, p.Subnet)
	}
	p.Range = r
	return nil
}

// SetAux reserves the named addresses of the subnet: Allocate and AllocateAddr never
// hand them out.
func (p *IPAM) SetAux(aux map[string]netip.Addr) error {
	for name, a := range aux {
		if !a.Is4() || !p.Subnet.Contains(a) || a == p.Gateway {
			return fmt.Errorf("%w: auxiliary address %s=%s is not a host address of %s", ErrInvalidAddress, name, a, p.Subnet)
		}
	}
	if len(aux) > 0 {
		p.Aux = maps.Clone(aux)
	}
	return nil
}

// Allocate hands out the lowest free address to owner. It fails with ErrAddressExhausted
// (naming the subnet) when none is left.
func (p *IPAM) Allocate(owner string) (netip.Addr, error) {
	if p.Allocated == nil {
		p.Allocated = map[netip.Addr]string{}
	}
	bcast := p.Broadcast()
	for a := p.Subnet.Addr().Next(); a.IsValid() && a.Less(bcast); a = a.Next() {
		if p.reserved(a) || (p.Range.IsValid() && !p.Range.Contains(a)) {
			continue
		}
		if _, used := p.Allocated[a]; !used {
			p.Allocated[a] = owner
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("%w in %s (%d allocated)", ErrAddressExhausted, p.Subnet, len(p.Allocated))
}

// AllocateAddr hands out the given address a to owner (docker --ip). An address
// outside the subnet, or its network, gateway or broadcast address, is ErrInvalidAddress;
// one held by another owner is ErrAddressInUse. Asking again for one's own is no error.
func (p *IPAM) AllocateAddr(a netip.Addr, owner string) error {
	if !a.Is4() || !p.Subnet.Contains(a) || p.reserved(a) {
		return fmt.Errorf("%w: %s is not a host address of %s (gateway %s)", ErrInvalidAddress, a, p.Subnet, p.Gateway)
	}
	if p.Allocated == nil {
		p.Allocated = map[netip.Addr]string{}
	}
	if holder, used := p.Allocated[a]; used && holder != owner {
		return fmt.Errorf("%w: %s in %s is held by %s", ErrAddressInUse, a, p.Subnet, holder)
	}
	p.Allocated[a] = owner
	return nil
}

// SetGateway makes a, a host address of the subnet, the gateway instead of the first
// host (docker network create --gateway). Only an IPAM with nothing allocated changes.
func (p *IPAM) SetGateway(a netip.Addr) error {
	if !a.Is4() || !p.Subnet.Contains(a) || a == p.Subnet.Addr() || a == p.Broadcast() {
		return fmt.Errorf("%w: gateway %s is not a host address of %s", ErrInvalidAddress, a, p.Subnet)
	}
	if len(p.Allocated) > 0 {
		return fmt.Errorf("%w: gateway of %s: addresses are allocated already", ErrInvalidAddress, p.Subnet)
	}
	p.Gateway = a
	return nil
}

// Release frees a. Releasing an address that is not allocated returns
// ErrAddressNotAllocated.
func (p *IPAM) Release(a netip.Addr) error {
	if _, ok := p.Allocated[a]; !ok {
		return fmt.Errorf("release %s in %s: %w", a, p.Subnet, ErrAddressNotAllocated)
	}
	delete(p.Allocated, a)
	return nil
}

// Owner returns who holds a, or "" if it is free.
func (p *IPAM) Owner(a netip.Addr) string { return p.Allocated[a] }

// Addrs returns the allocated addresses in ascending order.
func (p *IPAM) Addrs() []netip.Addr {
	out := make([]netip.Addr, 0, len(p.Allocated))
	for a := range p.Allocated {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Less(out[j]) })
	return out
}
