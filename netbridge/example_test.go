package netbridge_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/skiffrt/skiff/netbridge"
)

func ExampleIPAM() {
	ipam, err := netbridge.NewIPAM(netip.MustParsePrefix("10.5.0.0/29"))
	if err != nil {
		panic(err)
	}
	a, _ := ipam.Allocate("container-a")
	b, _ := ipam.Allocate("container-b")
	fmt.Println("gateway", ipam.Gateway, "broadcast", ipam.Broadcast())
	fmt.Println("a", a, "b", b)
	ipam.Release(a)
	c, _ := ipam.Allocate("container-c")
	fmt.Println("c", c, "owner", ipam.Owner(c))
	// Output:
	// gateway 10.5.0.1 broadcast 10.5.0.7
	// a 10.5.0.2 b 10.5.0.3
	// c 10.5.0.2 owner container-c
}

// The engine's side of a container's life on a bridge network. Needs root.
func ExampleManager() {
	ctx := context.Background()
	m, err := netbridge.New("/var/lib/skiff/network")
	if err != nil {
		panic(err)
	}
	// skiff network create --subnet 10.5.0.0/24 app
	if _, err := m.CreateNetwork(ctx, netbridge.NetworkConfig{Name: "app", Subnet: netip.MustParsePrefix("10.5.0.0/24")}); err != nil {
		panic(err)
	}
	// In namespace.Config.BeforeInit(pid): skiff run --network app --name web -p 8080:80
	pid := 12345
	port, _ := netbridge.ParsePortMapping("8080:80")
	ep, err := m.Attach(ctx, "app", "0123456789ab", fmt.Sprintf("/proc/%d/ns/net", pid),
		netbridge.AttachOptions{Name: "web", Hostname: "0123456789ab", Ports: []netbridge.PortMapping{port}})
	if err != nil {
		panic(err)
	}
	hosts, _ := m.HostsFor(ctx, ep.ContainerID)
	host, _ := netbridge.HostResolvConf()
	_ = netbridge.WriteInPlace("/var/lib/skiff/containers/0123456789ab/hosts", hosts)
	_ = netbridge.WriteInPlace("/var/lib/skiff/containers/0123456789ab/resolv.conf", netbridge.ResolvConf(host))
	// On Delete:
	_ = m.Detach(ctx, "app", ep.ContainerID)
	// In Engine.Check:
	_, _ = m.Check(ctx, func(id string) bool { return false })
}
