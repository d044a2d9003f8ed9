package netbridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

func createTestNetwork(t testing.TB, m *Manager) *Network {
	t.Helper()
	n, err := m.CreateNetwork(context.Background(), NetworkConfig{Name: "net-" + randHex(6), Subnet: testSubnet(t)})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCreateNetwork(t *testing.T) {
	ctx := context.Background()
	m := newTestManager(t)
	n := createTestNetwork(t, m)

	br, err := netlink.LinkByName(n.Bridge)
	if err != nil {
		t.Fatalf("bridge %s: %v", n.Bridge, err)
	}
	if br.Type() != "bridge" || br.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("bridge %s: type %s flags %v", n.Bridge, br.Type(), br.Attrs().Flags)
	}
	addrs, _ := netlink.AddrList(br, netlink.FAMILY_V4)
	if len(addrs) != 1 || addrs[0].IPNet.String() != netip.PrefixFrom(n.Gateway, n.Subnet.Bits()).String() {
		t.Errorf("bridge %s addresses %v, want %s/%d", n.Bridge, addrs, n.Gateway, n.Subnet.Bits())
	}
	if !strings.HasPrefix(n.Bridge, "skiff-") || len(n.Bridge) > 15 {
		t.Errorf("bridge name %q", n.Bridge)
	}

	got, err := m.Network(ctx, n.Name)
	if err != nil || got.Subnet != n.Subnet || got.ID != n.ID {
		t.Errorf("Network(%q) = %+v, %v", n.Name, got, err)
	}
	all, err := m.Networks(ctx)
	if err != nil || len(all) != 1 || all[0].Name != n.Name {
		t.Errorf("Networks() = %+v, %v", all, err)
	}

	if _, err := m.CreateNetwork(ctx, NetworkConfig{Name: n.Name}); !errors.Is(err, ErrNetworkExists) {
		t.Errorf("duplicate name: err = %v, want ErrNetworkExists", err)
	}
	// Same subnet, a sub-prefix and a super-prefix of it all overlap.
	sub := netip.PrefixFrom(n.Subnet.Addr(), 25)
	super := netip.PrefixFrom(n.Subnet.Addr(), 16).Masked()
	for _, p := range []netip.Prefix{n.Subnet, sub, super} {
		_, err := m.CreateNetwork(ctx, NetworkConfig{Name: "other-" + randHex(4), Subnet: p})
		if !errors.Is(err, ErrSubnetOverlap) || !strings.Contains(err.Error(), p.String()) {
			t.Errorf("overlapping subnet %s: err = %v, want ErrSubnetOverlap naming it", p, err)
		}
	}
	// A host route (not ours) overlaps too.
	routes, _ := hostRoutes(n.Bridge)
	for _, r := range routes {
		if r.p.Bits() > 0 && r.p.Bits() <= 30 && strings.Contains(r.what, "table 254") {
			_, err := m.CreateNetwork(ctx, NetworkConfig{Name: "other", Subnet: r.p.Masked()})
			if !errors.Is(err, ErrSubnetOverlap) || !strings.Contains(err.Error(), "host route") {
				t.Errorf("subnet %s of a host route: err = %v, want ErrSubnetOverlap", r.p, err)
			}
			break
		}
	}
	if _, err := m.CreateNetwork(ctx, NetworkConfig{Name: "bad/name"}); !errors.Is(err, ErrInvalidName) {
		t.Errorf("bad name: %v", err)
	}
	if _, err := m.CreateNetwork(ctx, NetworkConfig{Name: "bad", Subnet: netip.MustParsePrefix("10.213.0.1/24")}); !errors.Is(err, ErrInvalidSubnet) {
		t.Errorf("host bits set: %v", err)
	}

	if err := m.RemoveNetwork(ctx, n.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := netlink.LinkByName(n.Bridge); err == nil {
		t.Errorf("bridge %s still exists after RemoveNetwork", n.Bridge)
	}
	if _, err := m.Network(ctx, n.Name); !errors.Is(err, ErrNetworkNotFound) {
		t.Errorf("Network after remove: %v", err)
	}
}

func TestAttachDetach(t *testing.T) {
	ctx := context.Background()
	m := newTestManager(t)
	n := createTestNetwork(t, m)
	nsPath := newNetns(t)

	ep, err := m.Attach(ctx, n.Name, "c1"+randHex(10), nsPath, AttachOptions{Name: "web", Hostname: "web"})
	if err != nil {
		t.Fatal(err)
	}
	wantIP := n.Gateway.Next()
	if ep.IP() != wantIP || ep.IfName != "eth0" || !ep.DefaultRoute {
		t.Errorf("endpoint %+v: want ip %s on eth0 with default route", ep, wantIP)
	}

	// Host side: veth enslaved to the bridge and up.
	hv, err := netlink.LinkByName(ep.HostVeth)
	if err != nil {
		t.Fatalf("host veth %s: %v", ep.HostVeth, err)
	}
	br, _ := netlink.LinkByName(n.Bridge)
	if hv.Attrs().MasterIndex != br.Attrs().Index || hv.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("veth %s: master %d (bridge %d), flags %v", ep.HostVeth, hv.Attrs().MasterIndex, br.Attrs().Index, hv.Attrs().Flags)
	}

	// Container side.
	h := nsHandle(t, nsPath)
	eth0, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatalf("eth0 in %s: %v", nsPath, err)
	}
	if mtu := m.hostMTU(); eth0.Attrs().MTU != mtu {
		t.Errorf("eth0 mtu %d, want host default route's %d", eth0.Attrs().MTU, mtu)
	}
	if eth0.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("eth0 not up")
	}
	addrs, _ := h.AddrList(eth0, netlink.FAMILY_V4)
	if len(addrs) != 1 || addrs[0].IPNet.String() != ep.Address.String() {
		t.Errorf("eth0 addresses %v, want %s", addrs, ep.Address)
	}
	if eth0.Attrs().HardwareAddr.String() != ep.MAC {
		t.Errorf("eth0 mac %s, want %s", eth0.Attrs().HardwareAddr, ep.MAC)
	}
	routes, _ := h.RouteList(nil, netlink.FAMILY_V4)
	var gw string
	for _, r := range routes {
		if r.Dst == nil || r.Dst.String() == "0.0.0.0/0" {
			gw = r.Gw.String()
		}
	}
	if gw != n.Gateway.String() {
		t.Errorf("default route via %q, want %s (routes %v)", gw, n.Gateway, routes)
	}
	lo, _ := h.LinkByName("lo")
	if lo.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("lo not up")
	}

	// Attaching twice is an error.
	if _, err := m.Attach(ctx, n.Name, ep.ContainerID, nsPath, AttachOptions{}); !errors.Is(err, ErrEndpointExists) {
		t.Errorf("second attach: %v", err)
	}
	eps, err := m.Endpoints(ctx, n.Name)
	if err != nil || len(eps) != 1 || eps[0].ContainerID != ep.ContainerID {
		t.Errorf("Endpoints = %+v, %v", eps, err)
	}
	if err := m.RemoveNetwork(ctx, n.Name); !errors.Is(err, ErrNetworkInUse) || !strings.Contains(err.Error(), ep.ContainerID) {
		t.Errorf("RemoveNetwork with endpoint: %v", err)
	}

	if err := m.Detach(ctx, n.Name, ep.ContainerID); err != nil {
		t.Fatal(err)
	}
	if _, err := netlink.LinkByName(ep.HostVeth); err == nil {
		t.Errorf("veth %s remains after Detach", ep.HostVeth)
	}
	if _, err := h.LinkByName("eth0"); err == nil {
		t.Errorf("eth0 remains in netns after Detach")
	}
	if err := m.Detach(ctx, n.Name, ep.ContainerID); !errors.Is(err, ErrEndpointNotFound) {
		t.Errorf("second Detach: %v", err)
	}
	// The address is free again.
	ep2, err := m.Attach(ctx, n.Name, "c2"+randHex(10), nsPath, AttachOptions{})
	if err != nil || ep2.IP() != wantIP {
		t.Fatalf("re-attach got %v, %v; want %s", ep2, err, wantIP)
	}
	if err := m.Detach(ctx, n.Name, ep2.ContainerID); err != nil {
		t.Fatal(err)
	}
	if err := m.RemoveNetwork(ctx, n.Name); err != nil {
		t.Fatal(err)
	}
}

// listenIn starts a TCP listener inside the netns that answers "hello from NAME" to every
// connection.
func listenIn(t *testing.T, nsPath, addr, name string) net.Listener {
	t.Helper()
	var l net.Listener
	err := inNetns(t, nsPath, func() (err error) {
		l, err = net.Listen("tcp4", addr)
		return err
	})
	if err != nil {
		t.Fatalf("listen %s in %s: %v", addr, nsPath, err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "hello from %s", name)
			c.Close()
		}
	}()
	return l
}

func readAll(c net.Conn) (string, error) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	return string(b), err
}

func dialIn(t *testing.T, nsPath, addr string) (string, error) {
	t.Helper()
	var c net.Conn
	err := inNetns(t, nsPath, func() (err error) {
		c, err = net.DialTimeout("tcp4", addr, 5*time.Second)
		return err
	})
	if err != nil {
		return "", err
	}
	return readAll(c)
}

func TestTwoNamespacesTalk(t *testing.T) {
	ctx := context.Background()
	m := newTestManager(t)
	n := createTestNetwork(t, m)
	ns1, ns2 := newNetns(t), newNetns(t)
	ep1, err := m.Attach(ctx, n.Name, "a"+randHex(12), ns1, AttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ep2, err := m.Attach(ctx, n.Name, "b"+randHex(12), ns2, AttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	listenIn(t, ns1, ep1.IP().String()+":8080", "one")
	got, err := dialIn(t, ns2, ep1.IP().String()+":8080")
	if err != nil || got != "hello from one" {
		t.Fatalf("ns2 (%s) → ns1 (%s:8080): %q, %v", ep2.IP(), ep1.IP(), got, err)
	}
	// The gateway (the host, on the bridge) reaches the container too.
	c, err := net.DialTimeout("tcp4", ep1.IP().String()+":8080", 5*time.Second)
	if err != nil {
		t.Fatalf("host → %s:8080: %v", ep1.IP(), err)
	}
	if got, err := readAll(c); err != nil || got != "hello from one" {
		t.Fatalf("host → ns1: %q, %v", got, err)
	}
}

func TestAttachSecondNetwork(t *testing.T) {
	ctx := context.Background()
	m := newTestManager(t)
	a, b := createTestNetwork(t, m), createTestNetwork(t, m)
	nsPath := newNetns(t)
	id := "c" + randHex(12)
	if _, err := m.Attach(ctx, a.Name, id, nsPath, AttachOptions{}); err != nil {
		t.Fatal(err)
	}
	ep, err := m.Attach(ctx, b.Name, id, nsPath, AttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ep.IfName != "eth1" || ep.DefaultRoute {
		t.Errorf("second network: ifname %s default route %v, want eth1 without", ep.IfName, ep.DefaultRoute)
	}
	h := nsHandle(t, nsPath)
	if _, err := h.LinkByName("eth1"); err != nil {
		t.Errorf("eth1: %v", err)
	}
	if err := m.Detach(ctx, b.Name, id); err != nil {
		t.Fatal(err)
	}
	if _, err := h.LinkByName("eth1"); err == nil {
		t.Errorf("eth1 remains after Detach")
	}
	if _, err := h.LinkByName("eth0"); err != nil {
		t.Errorf("eth0 gone after detaching the other network: %v", err)
	}
}

func TestAttachFailureCleansUp(t *testing.T) {
	ctx := context.Background()
	m := newTestManager(t)
	n := createTestNetwork(t, m)
	nsPath := newNetns(t)
	id := "f" + randHex(12)

	// "lo" exists inside the netns: creating the veth peer fails.
	_, err := m.Attach(ctx, n.Name, id, nsPath, AttachOptions{IfName: "lo"})
	if err == nil {
		t.Fatal("attach with IfName lo succeeded")
	}
	if !strings.Contains(err.Error(), nsPath) || !strings.Contains(err.Error(), n.Bridge) {
		t.Errorf("error %q does not name the netns and bridge", err)
	}
	// Missing netns.
	if _, err := m.Attach(ctx, n.Name, id, "/proc/nonexistent/ns/net", AttachOptions{}); err == nil ||
		!strings.Contains(err.Error(), "/proc/nonexistent/ns/net") {
		t.Errorf("missing netns: %v", err)
	}
	if _, err := netlink.LinkByName(hostVethName(id, n.ID)); err == nil {
		t.Errorf("veth left after failed attach")
	}
	eps, _ := m.Endpoints(ctx, n.Name)
	if len(eps) != 0 {
		t.Errorf("endpoints after failed attach: %+v", eps)
	}
	unlock, _ := m.lock(ctx)
	nf, _ := m.load(n.Name)
	unlock()
	if len(nf.IPAM.Allocated) != 0 {
		t.Errorf("allocations after failed attach: %v", nf.IPAM.Allocated)
	}
	if _, err := m.Attach(ctx, "nope", id, nsPath, AttachOptions{}); !errors.Is(err, ErrNetworkNotFound) {
		t.Errorf("unknown network: %v", err)
	}
}

func TestDefaultNetworkOnFirstUse(t *testing.T) {
	ctx := context.Background()
	sub := testSubnet(t)
	m := newTestManager(t, WithDefaultSubnet(sub))
	nsPath := newNetns(t)
	ep, err := m.Attach(ctx, "", "d"+randHex(12), nsPath, AttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := m.Network(ctx, DefaultNetwork)
	if err != nil {
		t.Fatal(err)
	}
	if n.Subnet != sub || !strings.HasPrefix(n.Bridge, "skt") || ep.Network != DefaultNetwork {
		t.Errorf("default network %+v, endpoint %+v", n, ep)
	}
}

func TestNetworksIsolated(t *testing.T) {
	ctx := context.Background()
	m := newTestManager(t)
	a, b := createTestNetwork(t, m), createTestNetwork(t, m)
	nsA, nsB, nsAB := newNetns(t), newNetns(t), newNetns(t)
	epA, err := m.Attach(ctx, a.Name, "ia"+randHex(10), nsA, AttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	epB, err := m.Attach(ctx, b.Name, "ib"+randHex(10), nsB, AttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	listenIn(t, nsA, "0.0.0.0:7000", "a")
	listenIn(t, nsB, "0.0.0.0:7000", "b")
	// B cannot reach A across the host: the forward chain drops bridge-to-bridge traffic.
	var c net.Conn
	err = inNetns(t, nsB, func() (err error) {
		c, err = net.DialTimeout("tcp4", epA.IP().String()+":7000", 700*time.Millisecond)
		return err
	})
	if err == nil {
		c.Close()
		t.Errorf("container on %s reached container on %s", b.Name, a.Name)
	}
	// A container on both networks reaches both.
	id := "iab" + randHex(10)
	if _, err := m.Attach(ctx, a.Name, id, nsAB, AttachOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Attach(ctx, b.Name, id, nsAB, AttachOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, ep := range []*Endpoint{epA, epB} {
		if got, err := dialIn(t, nsAB, ep.IP().String()+":7000"); err != nil || !strings.HasPrefix(got, "hello") {
			t.Errorf("dual-homed container → %s: %q, %v", ep.IP(), got, err)
		}
	}
}

// BenchmarkAttachDetach times one container joining and leaving a network (veth, address,
// routes, nftables rewrite, state writes).
func BenchmarkAttachDetach(b *testing.B) {
	ctx := context.Background()
	m := newTestManager(b)
	n := createTestNetwork(b, m)
	ns := newNetns(b)
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprintf("bench%d", i)
		if _, err := m.Attach(ctx, n.Name, id, ns, AttachOptions{Ports: []PortMapping{{ContainerPort: 80}}}); err != nil {
			b.Fatal(err)
		}
		if err := m.Detach(ctx, n.Name, id); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDetachAllAndLoopback(t *testing.T) {
	ctx := context.Background()
	m := newTestManager(t)
	a, b := createTestNetwork(t, m), createTestNetwork(t, m)
	ns := newNetns(t)
	if err := LoopbackUp(ns); err != nil {
		t.Fatal(err)
	}
	lo, _ := nsHandle(t, ns).LinkByName("lo")
	if lo.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("lo not up after LoopbackUp")
	}
	id := "all" + randHex(10)
	for _, n := range []*Network{a, b} {
		if _, err := m.Attach(ctx, n.Name, id, ns, AttachOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	eps, err := m.ContainerEndpoints(ctx, id)
	if err != nil || len(eps) != 2 {
		t.Fatalf("ContainerEndpoints = %+v, %v", eps, err)
	}
	removed, err := m.DetachAll(ctx, id)
	if err != nil || len(removed) != 2 {
		t.Fatalf("DetachAll = %+v, %v", removed, err)
	}
	for _, ep := range removed {
		if _, err := netlink.LinkByName(ep.HostVeth); err == nil {
			t.Errorf("veth %s remains", ep.HostVeth)
		}
	}
	if tableExists(m.table) {
		t.Errorf("table remains after DetachAll")
	}
	if removed, err := m.DetachAll(ctx, id); err != nil || len(removed) != 0 {
		t.Errorf("second DetachAll = %v, %v", removed, err)
	}
}

// TestRequestedAddressAndGateway: a network with its own gateway address, and
// containers asking for their addresses (docker --gateway, --ip).
func TestRequestedAddressAndGateway(t *testing.T) {
	ctx := context.Background()
	m := newTestManager(t)
	sub := testSubnet(t)
	gw := lastAddr(sub).Prev()
	n, err := m.CreateNetwork(ctx, NetworkConfig{Name: "gw-" + randHex(6), Subnet: sub, Gateway: gw})
	if err != nil {
		t.Fatal(err)
	}
	if n.Gateway != gw {
		t.Errorf("gateway %s, want %s", n.Gateway, gw)
	}
	want := sub.Addr().Next().Next().Next() // .3
	ns1, ns2 := newNetns(t), newNetns(t)
	ep, err := m.Attach(ctx, n.Name, "r"+randHex(12), ns1, AttachOptions{IP: want})
	if err != nil {
		t.Fatal(err)
	}
	if ep.IP() != want || ep.RequestedIP != want || ep.Gateway != gw {
		t.Errorf("endpoint %s (requested %s) via %s, want %s via %s", ep.IP(), ep.RequestedIP, ep.Gateway, want, gw)
	}
	listenIn(t, ns1, want.String()+":8080", "static")
	if got, err := dialHost(want.String() + ":8080"); err != nil || got != "hello from static" {
		t.Errorf("host → %s: %q, %v", want, got, err)
	}
	if _, err := m.Attach(ctx, n.Name, "s"+randHex(12), ns2, AttachOptions{IP: want}); !errors.Is(err, ErrAddressInUse) {
		t.Errorf("a second container asking for %s: %v, want ErrAddressInUse", want, err)
	}
	if _, err := m.Attach(ctx, n.Name, "s"+randHex(12), ns2, AttachOptions{IP: gw}); !errors.Is(err, ErrInvalidAddress) {
		t.Errorf("a container asking for the gateway %s: %v, want ErrInvalidAddress", gw, err)
	}
	if _, err := m.CreateNetwork(ctx, NetworkConfig{Name: "gw2-" + randHex(6), Gateway: gw}); !errors.Is(err, ErrInvalidAddress) {
		t.Errorf("a gateway without a subnet: %v, want ErrInvalidAddress", err)
	}
}
