package netbridge_test

import (
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
