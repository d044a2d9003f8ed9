package netbridge

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Kernel-side helpers for the host network namespace. Each names the `ip` command it
// stands for.

// retryDump repeats a netlink dump interrupted by a concurrent change.
func retryDump[T any](f func() ([]T, error)) ([]T, error) {
	var err error
	for range 5 {
		var out []T
		out, err = f()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return out, err
		}
	}
	return nil, err
}

// hostRoutes lists the IPv4 routes of every table (ip -4 route show table all), except
// those on the link named skipLink (a bridge being re-adopted).
func hostRoutes(skipLink string) ([]usedPrefix, error) {
	skip := -1
	if l, err := netlink.LinkByName(skipLink); err == nil {
		skip = l.Attrs().Index
	}
	routes, err := retryDump(func() ([]netlink.Route, error) {
		return netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return nil, fmt.Errorf("list host routes: %w", err)
	}
	var out []usedPrefix
	for _, r := range routes {
		if r.Dst == nil || r.LinkIndex == skip {
			continue
		}
		p, ok := ipNetPrefix(r.Dst)
		if !ok {
			continue
		}
		dev := fmt.Sprintf("if%d", r.LinkIndex)
		if l, err := netlink.LinkByIndex(r.LinkIndex); err == nil {
			dev = l.Attrs().Name
		}
		out = append(out, usedPrefix{p, fmt.Sprintf("host route %s dev %s table %d", p, dev, r.Table)})
	}
	return out, nil
}

func ipNetPrefix(n *net.IPNet) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones), true
}

func prefixIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// hostMTU returns the MTU of the link carrying the host's default route, 1500 if none.
func (m *Manager) hostMTU() int {
	if m.mtu > 0 {
		return m.mtu
	}
	routes, err := retryDump(func() ([]netlink.Route, error) { return netlink.RouteList(nil, netlink.FAMILY_V4) })
	if err != nil {
		return 1500
	}
	for _, r := range routes {
		if r.Dst != nil {
			if ones, _ := r.Dst.Mask.Size(); ones != 0 {
				continue
			}
		}
		if l, err := netlink.LinkByIndex(r.LinkIndex); err == nil && l.Attrs().MTU > 0 {
			return l.Attrs().MTU
		}
	}
	return 1500
}

// ensureBridge makes the network's bridge exist, carry the gateway address and be up:
//
//	ip link add BRIDGE mtu MTU type bridge
//	ip addr add GW/LEN dev BRIDGE
//	ip link set BRIDGE up
//	sysctl net.ipv4.ip_forward=1 net.ipv4.conf.BRIDGE.route_localnet=1
//
// An existing bridge of that name is adopted; an existing link of another type is an
// error. A bridge it created is deleted again if a later step fails.
func (m *Manager) ensureBridge(n *Network) (err error) {
	link, err := netlink.LinkByName(n.Bridge)
	created := false
	if err != nil {
		var nf netlink.LinkNotFoundError
		if !errors.As(err, &nf) {
			return fmt.Errorf("bridge %s: %w", n.Bridge, err)
		}
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: n.Bridge, MTU: m.hostMTU()}}
		if err := netlink.LinkAdd(br); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("ip link add %s type bridge: %w", n.Bridge, err)
		}
		if link, err = netlink.LinkByName(n.Bridge); err != nil {
			return fmt.Errorf("bridge %s: %w", n.Bridge, err)
		}
		created = true
	}
	defer func() {
		if err != nil && created {
			netlink.LinkDel(link)
		}
	}()
	if link.Type() != "bridge" {
		return fmt.Errorf("bridge %s: link exists with type %s: %w", n.Bridge, link.Type(), ErrNetworkExists)
	}
	gw := netip.PrefixFrom(n.Gateway, n.Subnet.Bits())
	addr := &netlink.Addr{IPNet: prefixIPNet(gw)}
	if err := netlink.AddrReplace(link, addr); err != nil {
		return fmt.Errorf("ip addr add %s dev %s: %w", gw, n.Bridge, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("ip link set %s up: %w", n.Bridge, err)
	}
	if err := writeSysctl("net/ipv4/conf/"+n.Bridge+"/route_localnet", "1"); err != nil {
		return fmt.Errorf("bridge %s: %w", n.Bridge, err)
	}
	if err := writeSysctl("net/ipv4/ip_forward", "1"); err != nil {
		return fmt.Errorf("bridge %s: %w", n.Bridge, err)
	}
	return nil
}

// deleteLink is ip link del NAME; a missing link is not an error.
func deleteLink(name string) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return fmt.Errorf("link %s: %w", name, err)
	}
	if err := netlink.LinkDel(link); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("ip link del %s: %w", name, err)
	}
	return nil
}

// writeSysctl writes /proc/sys/<key> unless it already holds val.
func writeSysctl(key, val string) error {
	path := filepath.Join("/proc/sys", key)
	if b, err := os.ReadFile(path); err == nil && string(b) == val+"\n" {
		return nil
	}
	if err := os.WriteFile(path, []byte(val), 0o644); err != nil {
		return fmt.Errorf("sysctl %s=%s: %w", key, val, err)
	}
	return nil
}
