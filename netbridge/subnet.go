package netbridge

import (
	"fmt"
	"net/netip"
)

// usedPrefix is a prefix that a new subnet must not overlap, with what holds it (for the
// error message): a host route or another network.
type usedPrefix struct {
	p    netip.Prefix
	what string
}

// defaultPool lists candidate subnets in order of preference, like Docker's default
// address pools: 172.17.0.0/16 ... 172.31.0.0/16, then 192.168.0.0/20 ... 192.168.240.0/20.
func defaultPool() []netip.Prefix {
	var pool []netip.Prefix
	for i := 17; i <= 31; i++ {
		pool = append(pool, netip.PrefixFrom(netip.AddrFrom4([4]byte{172, byte(i), 0, 0}), 16))
	}
	for i := 0; i < 256; i += 16 {
		pool = append(pool, netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 168, byte(i), 0}), 20))
	}
	return pool
}

// overlaps returns the first used prefix that overlaps p. Default routes (/0) are ignored.
func overlaps(p netip.Prefix, used []usedPrefix) (usedPrefix, bool) {
	for _, u := range used {
		if u.p.Bits() == 0 || !u.p.Addr().Is4() {
			continue
		}
		if u.p.Overlaps(p) {
			return u, true
		}
	}
	return usedPrefix{}, false
}

// chooseSubnet returns the first prefix of pool that overlaps nothing in used.
func chooseSubnet(pool []netip.Prefix, used []usedPrefix) (netip.Prefix, error) {
	for _, p := range pool {
		if _, ok := overlaps(p, used); !ok {
			return p, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("%w (%d candidates, all overlap host routes or networks)", ErrNoSubnet, len(pool))
}
