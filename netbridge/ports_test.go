package netbridge

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/skiffrt/skiff/errdefs"
)

func TestParsePortMapping(t *testing.T) {
	tests := []struct {
		in   string
		want PortMapping
		err  bool
	}{
		{"80", PortMapping{ContainerPort: 80, Proto: "tcp"}, false},
		{"8080:80", PortMapping{HostPort: 8080, ContainerPort: 80, Proto: "tcp"}, false},
		{"127.0.0.1:8080:80/udp", PortMapping{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 8080, ContainerPort: 80, Proto: "udp"}, false},
		{"127.0.0.1::80", PortMapping{HostIP: netip.MustParseAddr("127.0.0.1"), ContainerPort: 80, Proto: "tcp"}, false},
		{"0.0.0.0:1:2", PortMapping{HostPort: 1, ContainerPort: 2, Proto: "tcp"}, false},
		{"80/sctp", PortMapping{}, true},
		{"0", PortMapping{}, true},
		{"65536", PortMapping{}, true},
		{"a:b:c:d", PortMapping{}, true},
		{"::1:80:80", PortMapping{}, true},
		{"x:80:80", PortMapping{}, true},
	}
	for _, tt := range tests {
		got, err := ParsePortMapping(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParsePortMapping(%q) = %+v, %v; want %+v (error %v)", tt.in, got, err, tt.want, tt.err)
		}
		if err != nil && !errors.Is(err, ErrInvalidPort) {
			t.Errorf("ParsePortMapping(%q): error %v is not ErrInvalidPort", tt.in, err)
		}
	}
}

func FuzzParsePortMapping(f *testing.F) {
	for _, s := range []string{"80", "1:2", "127.0.0.1:8080:80/udp", "::/tcp"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pm, err := ParsePortMapping(s)
		if err != nil {
			return
		}
		back, err := ParsePortMapping(pm.String())
		if err != nil || back != pm {
			t.Fatalf("round trip %q → %q → %+v, %v", s, pm, back, err)
		}
	})
}

// nftList returns `nft list table ip NAME` without handles, or "" if nft is missing.
func nftList(t *testing.T, table string) string {
	nft, err := exec.LookPath("nft")
	if err != nil {
		return ""
	}
	out, err := exec.Command(nft, "list", "table", "ip", table).CombinedOutput()
	if err != nil {
		t.Fatalf("nft list table ip %s: %v\n%s", table, err, out)
	}
	return string(out)
}

func dialHost(addr string) (string, error) {
	c, err := net.DialTimeout("tcp4", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	return readAll(c)
}

func TestPublishedPort(t *testing.T) {
	ctx := context.Background()
	m := newTestManager(t)
	n := createTestNetwork(t, m)
	ns1, ns2 := newNetns(t), newNetns(t)
	listenIn(t, ns1, "0.0.0.0:8080", "web")

	ep, err := m.Attach(ctx, n.Name, "p"+randHex(12), ns1, AttachOptions{Ports: []PortMapping{
		{ContainerPort: 8080},
		{HostIP: netip.MustParseAddr("127.0.0.1"), ContainerPort: 8080},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ep.Ports) != 2 || ep.Ports[0].HostPort == 0 || ep.Ports[1].HostPort == 0 || ep.Ports[0].Proto != "tcp" {
		t.Fatalf("ports not resolved: %+v", ep.Ports)
	}
	any, lo := ep.Ports[0].HostPort, ep.Ports[1].HostPort
	client, err := m.Attach(ctx, n.Name, "q"+randHex(12), ns2, AttachOptions{})
	if err != nil {
		t.Fatal(err)
	}

	rs, err := m.Rules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	text := rs.String()
	for _, want := range []string{
		"fib daddr type local tcp dport " + strconv.Itoa(int(any)) + " dnat to " + ep.IP().String() + ":8080",
		"ip daddr 127.0.0.1 tcp dport " + strconv.Itoa(int(lo)) + " dnat to " + ep.IP().String() + ":8080",
		"oifname != \"" + n.Bridge + "\" ip saddr " + n.Subnet.String() + " masquerade",
		"oifname \"" + n.Bridge + "\" ip saddr 127.0.0.0/8 masquerade",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("rules lack %q:\n%s", want, text)
		}
	}
	// The kernel holds exactly what was described (nft renders it the same way).
	if listed := nftList(t, m.table); listed != "" && listed != text {
		t.Errorf("nft list table differs from the description:\n--- kernel\n%s--- described\n%s", listed, text)
	}

	for _, addr := range []string{
		"127.0.0.1:" + strconv.Itoa(int(any)),
		"127.0.0.1:" + strconv.Itoa(int(lo)),
		n.Gateway.String() + ":" + strconv.Itoa(int(any)),
	} {
		if got, err := dialHost(addr); err != nil || got != "hello from web" {
			t.Errorf("host → %s: %q, %v", addr, got, err)
		}
	}
	// From another container through the gateway, and from the publishing container
	// itself (the DNAT'd packet leaves by the bridge port it came in on: hairpin).
	hp := n.Gateway.String() + ":" + strconv.Itoa(int(any))
	if got, err := dialIn(t, ns2, hp); err != nil || got != "hello from web" {
		t.Errorf("container %s → %s: %q, %v", client.IP(), hp, got, err)
	}
	if got, err := dialIn(t, ns1, hp); err != nil || got != "hello from web" {
		t.Errorf("publishing container %s → its own port %s: %q, %v", ep.IP(), hp, got, err)
	}
	// From a container of another network through its own gateway: a published port
	// is open to every network, though the networks stay isolated otherwise.
	other := createTestNetwork(t, m)
	ns3 := newNetns(t)
	far, err := m.Attach(ctx, other.Name, "f"+randHex(12), ns3, AttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	viaOwn := other.Gateway.String() + ":" + strconv.Itoa(int(any))
	if got, err := dialIn(t, ns3, viaOwn); err != nil || got != "hello from web" {
		t.Errorf("container %s of network %s → %s: %q, %v", far.IP(), other.Name, viaOwn, got, err)
	}
	if err := m.Detach(ctx, other.Name, far.ContainerID); err != nil {
		t.Fatal(err)
	}

	// Removing the last endpoints removes the table.
	if err := m.Detach(ctx, n.Name, ep.ContainerID); err != nil {
		t.Fatal(err)
	}
	if _, err := dialHost("127.0.0.1:" + strconv.Itoa(int(any))); err == nil {
		t.Errorf("port %d still forwarded after Detach", any)
	}
	if rs, _ := m.Rules(ctx); strings.Contains(rs.String(), "dnat to") {
		t.Errorf("dnat rules remain after Detach:\n%s", rs)
	}
	if !tableExists(m.table) {
		t.Errorf("table gone while an endpoint remains")
	}
	if err := m.Detach(ctx, n.Name, client.ContainerID); err != nil {
		t.Fatal(err)
	}
	if tableExists(m.table) {
		t.Errorf("nft table %s remains after the last endpoint left", m.table)
	}
	if err := m.RemoveNetwork(ctx, n.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := netlink.LinkByName(n.Bridge); err == nil || tableExists(m.table) {
		t.Errorf("bridge or table left after RemoveNetwork")
	}
}

func TestPortInUse(t *testing.T) {
	ctx := context.Background()
	m := newTestManager(t)
	n := createTestNetwork(t, m)
	ns := newNetns(t)

	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := uint16(l.Addr().(*net.TCPAddr).Port)
	for _, pm := range []PortMapping{
		{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: busy, ContainerPort: 80},
		{HostPort: busy, ContainerPort: 80},
	} {
		_, err := m.Attach(ctx, n.Name, "u"+randHex(12), ns, AttachOptions{Ports: []PortMapping{pm}})
		if !errors.Is(err, ErrPortInUse) || !strings.Contains(err.Error(), strconv.Itoa(int(busy))) {
			t.Errorf("port %s bound on host: err = %v, want ErrPortInUse naming the port", pm, err)
		}
	}

	// A port published by another container.
	first, err := m.Attach(ctx, n.Name, "v"+randHex(12), ns, AttachOptions{Ports: []PortMapping{{ContainerPort: 80}}})
	if err != nil {
		t.Fatal(err)
	}
	ns2 := newNetns(t)
	_, err = m.Attach(ctx, n.Name, "w"+randHex(12), ns2, AttachOptions{Ports: []PortMapping{{HostPort: first.Ports[0].HostPort, ContainerPort: 81}}})
	if !errors.Is(err, ErrPortInUse) || !strings.Contains(err.Error(), first.ContainerID) {
		t.Errorf("port published twice: err = %v, want ErrPortInUse naming %s", err, first.ContainerID)
	}
	// A udp port of the same number is fine.
	if _, err := m.Attach(ctx, n.Name, "x"+randHex(12), ns2, AttachOptions{Ports: []PortMapping{{HostPort: first.Ports[0].HostPort, ContainerPort: 81, Proto: "udp"}}}); err != nil {
		t.Errorf("udp on a tcp-published port: %v", err)
	}
	eps, _ := m.Endpoints(ctx, n.Name)
	if len(eps) != 2 {
		t.Errorf("endpoints after failed attaches: %d, want 2", len(eps))
	}
}

func TestPublishAndReleasePorts(t *testing.T) {
	ctx := context.Background()
	m := newTestManager(t)
	n := createTestNetwork(t, m)
	ns1, ns2 := newNetns(t), newNetns(t)
	listenIn(t, ns1, "0.0.0.0:8080", "one")
	listenIn(t, ns2, "0.0.0.0:8080", "two")

	// Attached without ports (a created container), by network ID.
	one, err := m.Attach(ctx, n.ID, "g"+randHex(12), ns1, AttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if one.Network != n.Name {
		t.Errorf("endpoint attached by ID names network %q, want %q", one.Network, n.Name)
	}
	two, err := m.Attach(ctx, n.ID[:12], "h"+randHex(12), ns2, AttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ports, err := m.Publish(ctx, n.Name, one.ContainerID, []PortMapping{{ContainerPort: 8080}})
	if err != nil || len(ports) != 1 || ports[0].HostPort == 0 {
		t.Fatalf("Publish: %+v, %v", ports, err)
	}
	hp := ports[0].HostPort
	addr := "127.0.0.1:" + strconv.Itoa(int(hp))
	if got, err := dialHost(addr); err != nil || got != "hello from one" {
		t.Fatalf("host → %s after Publish: %q, %v", addr, got, err)
	}

	// The same host port for the second endpoint: Docker's conflict.
	want := []PortMapping{{HostPort: hp, ContainerPort: 8080}}
	_, err = m.Publish(ctx, n.ID, two.ContainerID, want)
	if !errors.Is(err, ErrPortInUse) || !errors.Is(err, errdefs.ErrConflict) ||
		!strings.HasSuffix(err.Error(), "Bind for 0.0.0.0:"+strconv.Itoa(int(hp))+" failed: port is already allocated") {
		t.Errorf("second Publish of port %d: %v, want Docker's \"port is already allocated\"", hp, err)
	}

	// Released (its process ended): the port is free, and no longer forwarded.
	if err := m.ReleasePorts(ctx, one.ContainerID); err != nil {
		t.Fatal(err)
	}
	if eps, _ := m.ContainerEndpoints(ctx, one.ContainerID); len(eps) != 1 || len(eps[0].Ports) != 0 {
		t.Errorf("endpoint after ReleasePorts: %+v", eps)
	}
	if rs, _ := m.Rules(ctx); strings.Contains(rs.String(), "dnat to") {
		t.Errorf("dnat rules remain after ReleasePorts:\n%s", rs)
	}
	if _, err := m.Publish(ctx, n.Name, two.ContainerID, want); err != nil {
		t.Fatalf("Publish of the released port %d: %v", hp, err)
	}
	if got, err := dialHost(addr); err != nil || got != "hello from two" {
		t.Errorf("host → %s after it moved: %q, %v", addr, got, err)
	}
	if err := m.ReleasePorts(ctx, "nobody"); err != nil {
		t.Errorf("ReleasePorts of a container without endpoints: %v", err)
	}

	// Unknown networks and endpoints.
	if _, err := m.Publish(ctx, "no-such-net", two.ContainerID, want); !errors.Is(err, ErrNetworkNotFound) {
		t.Errorf("Publish on an unknown network: %v", err)
	}
	if _, err := m.Publish(ctx, n.Name, "nobody", want); !errors.Is(err, ErrEndpointNotFound) {
		t.Errorf("Publish of an unknown endpoint: %v", err)
	}
	if err := m.Detach(ctx, n.ID, one.ContainerID); err != nil {
		t.Errorf("Detach by network ID: %v", err)
	}
}

// TestInternalNetwork: a container of an internal network reaches its own network but
// nothing forwarded beyond it, not even a port another network publishes.
func TestInternalNetwork(t *testing.T) {
	ctx := context.Background()
	m := newTestManager(t)
	open := createTestNetwork(t, m)
	inside, err := m.CreateNetwork(ctx, NetworkConfig{Name: "int-" + randHex(6), Subnet: testSubnet(t), Internal: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := m.Network(ctx, inside.ID); !got.Internal {
		t.Errorf("Internal not stored: %+v", got)
	}
	nsWeb, nsIn, nsPeer := newNetns(t), newNetns(t), newNetns(t)
	listenIn(t, nsWeb, "0.0.0.0:8080", "web")
	web, err := m.Attach(ctx, open.Name, "w"+randHex(12), nsWeb, AttachOptions{Ports: []PortMapping{{ContainerPort: 8080}}})
	if err != nil {
		t.Fatal(err)
	}
	in, err := m.Attach(ctx, inside.Name, "i"+randHex(12), nsIn, AttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	peer, err := m.Attach(ctx, inside.Name, "p"+randHex(12), nsPeer, AttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	listenIn(t, nsPeer, peer.IP().String()+":9090", "peer")
	if got, err := dialIn(t, nsIn, peer.IP().String()+":9090"); err != nil || got != "hello from peer" {
		t.Errorf("internal network, container to container: %q, %v", got, err)
	}
	published := inside.Gateway.String() + ":" + strconv.Itoa(int(web.Ports[0].HostPort))
	err = inNetns(t, nsIn, func() error {
		c, err := net.DialTimeout("tcp4", published, 500*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err
	})
	if err == nil {
		t.Errorf("container %s of an internal network reached %s, published by another network", in.IP(), published)
	}
}
