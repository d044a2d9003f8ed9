package netbridge

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// fixtureNet builds a network record with endpoints "id ip [ports...]" without the kernel.
func fixtureNet(name, bridge, subnet string, eps ...Endpoint) *netFile {
	ipam, _ := NewIPAM(netip.MustParsePrefix(subnet))
	nf := &netFile{Network: Network{Name: name, ID: name, Bridge: bridge, Subnet: ipam.Subnet, Gateway: ipam.Gateway},
		IPAM: ipam, Endpoints: map[string]*Endpoint{}}
	for _, ep := range eps {
		ip, _ := ipam.Allocate(ep.ContainerID)
		ep.Network = name
		ep.Address = netip.PrefixFrom(ip, ipam.Subnet.Bits())
		nf.Endpoints[ep.ContainerID] = &ep
	}
	return nf
}

func internal(nf *netFile) *netFile {
	nf.Network.Internal = true
	return nf
}

func TestRulesetGolden(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	cases := map[string]map[string]*netFile{
		"empty": {},
		"network-without-endpoints": {
			"a": fixtureNet("a", "skiff-aaaa", "10.10.0.0/24"),
		},
		"one-endpoint": {
			"bridge": fixtureNet("bridge", "skiff0", "172.17.0.0/16", Endpoint{ContainerID: "c1"}),
		},
		"published-ports": {
			"bridge": fixtureNet("bridge", "skiff0", "172.17.0.0/16",
				Endpoint{ContainerID: "c1", Ports: []PortMapping{{HostPort: 8080, ContainerPort: 80, Proto: "tcp"}}},
				Endpoint{ContainerID: "c2", Ports: []PortMapping{
					{HostIP: lo, HostPort: 5353, ContainerPort: 53, Proto: "udp"},
					{HostIP: lo, HostPort: 2222, ContainerPort: 22, Proto: "tcp"}}}),
		},
		"internal-network": {
			"bridge": fixtureNet("bridge", "skiff0", "172.17.0.0/16", Endpoint{ContainerID: "c1"}),
			"inside": internal(fixtureNet("inside", "skiff-iiii", "10.40.0.0/24", Endpoint{ContainerID: "c2"})),
		},
		"isolated-networks": {
			"a": fixtureNet("a", "skiff-aaaa", "10.10.0.0/24", Endpoint{ContainerID: "c1"}),
			"b": fixtureNet("b", "skiff-bbbb", "10.20.0.0/24", Endpoint{ContainerID: "c2"}),
			"c": fixtureNet("c", "skiff-cccc", "10.30.0.0/24"),
		},
	}
	for name, nets := range cases {
		t.Run(name, func(t *testing.T) {
			rs := buildRuleset("skiff", nets)
			got := rs.String()
			path := filepath.Join("testdata", "rules", name+".nft")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("ruleset for %s differs from %s:\n--- got\n%s--- want\n%s", name, path, got, want)
			}
			// Every rule compiles to nftables expressions.
			for _, c := range rs.Chains {
				for _, r := range c.Rules {
					if _, err := r.exprs(); err != nil {
						t.Errorf("rule %q: %v", r, err)
					}
				}
			}
		})
	}
}
