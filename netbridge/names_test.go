package netbridge

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
)

func TestResolvConf(t *testing.T) {
	fb := netip.MustParseAddr("192.0.2.53")
	tests := []struct {
		name, host string
		fallback   []netip.Addr
		want       string
	}{
		{"keeps external and other lines",
			"# comment\nsearch example.org\nnameserver 10.255.255.53\noptions ndots:2\n", nil,
			"# comment\nsearch example.org\nnameserver 10.255.255.53\noptions ndots:2\n"},
		{"drops loopback and ipv6",
			"nameserver 127.0.0.53\nnameserver ::1\nnameserver 2001:db8::1\nnameserver 10.0.0.2\nsearch lan\n", nil,
			"nameserver 10.0.0.2\nsearch lan\n"},
		{"only loopback, no fallback",
			"nameserver 127.0.0.1\noptions edns0\n", nil,
			"options edns0\n"},
		{"only loopback, fallback",
			"nameserver 127.0.1.1\n", []netip.Addr{fb},
			"nameserver 192.0.2.53\n"},
		{"fallback unused when one remains",
			"nameserver 10.1.1.1\n", []netip.Addr{fb},
			"nameserver 10.1.1.1\n"},
		{"garbage nameserver dropped", "nameserver bogus\n", nil, ""},
	}
	for _, tt := range tests {
		if got := string(ResolvConf([]byte(tt.host), tt.fallback...)); got != tt.want {
			t.Errorf("%s: ResolvConf(%q) = %q, want %q", tt.name, tt.host, got, tt.want)
		}
	}
}

func TestHostsFile(t *testing.T) {
	got := string(HostsFile(
		HostsEntry{netip.MustParseAddr("10.1.0.2"), []string{"web", "web", "", "www"}},
		HostsEntry{netip.MustParseAddr("10.1.0.3"), nil},
	))
	want := hostsHeader + "10.1.0.2\tweb www\n"
	if got != want {
		t.Errorf("HostsFile = %q, want %q", got, want)
	}
}

func TestHostsFor(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	m, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	user := fixtureNet("app", "skiff-app", "10.50.0.0/24",
		Endpoint{ContainerID: "c-web", Name: "web", Hostname: "webhost", Aliases: []string{"www"}},
		Endpoint{ContainerID: "c-db", Name: "db", Hostname: "dbhost", Aliases: []string{"postgres"}},
	)
	def := fixtureNet(DefaultNetwork, "skiff0", "172.17.0.0/16",
		Endpoint{ContainerID: "c-web", Name: "web", Hostname: "webhost"},
		Endpoint{ContainerID: "c-other", Name: "other", Hostname: "otherhost"},
	)
	for _, nf := range []*netFile{user, def} {
		if err := m.save(nf); err != nil {
			t.Fatal(err)
		}
	}
	got, err := m.HostsFor(ctx, "c-web")
	if err != nil {
		t.Fatal(err)
	}
	want := hostsHeader +
		"10.50.0.2\twebhost web www\n" +
		"172.17.0.2\twebhost web\n" +
		"10.50.0.3\tdb postgres\n"
	if string(got) != want {
		t.Errorf("HostsFor(c-web) =\n%s\nwant\n%s", got, want)
	}
	// On the default network, peers are not listed.
	got, _ = m.HostsFor(ctx, "c-other")
	if strings.Contains(string(got), "web") {
		t.Errorf("default network lists peers:\n%s", got)
	}
	if _, err := m.HostsFor(ctx, "nope"); !errors.Is(err, ErrEndpointNotFound) {
		t.Errorf("HostsFor(unknown) = %v", err)
	}
	nb, err := m.Neighbors(ctx, "c-web")
	if err != nil || strings.Join(nb, ",") != "c-db" {
		t.Errorf("Neighbors(c-web) = %v, %v; want [c-db]", nb, err)
	}

	// WriteInPlace keeps the inode (bind mounts see the change).
	path := filepath.Join(dir, "hosts")
	os.WriteFile(path, []byte("old"), 0o644)
	before, _ := os.Stat(path)
	if err := WriteInPlace(path, got); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(path)
	b, _ := os.ReadFile(path)
	if !os.SameFile(before, after) || string(b) != string(got) {
		t.Errorf("WriteInPlace changed the inode or content")
	}
}

func FuzzResolvConf(f *testing.F) {
	f.Add("nameserver 127.0.0.1\nnameserver 10.0.0.1\nsearch x\n")
	f.Add("nameserver ::1\n")
	f.Fuzz(func(t *testing.T, s string) {
		out := ResolvConf([]byte(s))
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "nameserver" {
				ip, err := netip.ParseAddr(f[1])
				if err != nil || ip.IsLoopback() || !ip.Unmap().Is4() {
					t.Fatalf("ResolvConf(%q) kept %q", s, line)
				}
			}
		}
	})
}

func TestNetworkNameIsNeverAPath(t *testing.T) {
	m, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../x", "a/b", "", ".hidden"} {
		if _, err := m.Network(context.Background(), name); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Network(%q): %v, want ErrInvalidName", name, err)
		}
		if err := m.RemoveNetwork(context.Background(), name); !errors.Is(err, ErrInvalidName) {
			t.Errorf("RemoveNetwork(%q): %v, want ErrInvalidName", name, err)
		}
	}
}

// TestForeignBridgeNotTakenOver: a host bridge Skiff did not make cannot become a
// network's bridge (RemoveNetwork would delete it).
func TestForeignBridgeNotTakenOver(t *testing.T) {
	requireRoot(t)
	name := "skf" + randHex(8)
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}
	if err := netlink.LinkAdd(br); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { netlink.LinkDel(br) })
	m, err := New(t.TempDir(), WithTable("skf"+randHex(6)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.CreateNetwork(context.Background(), NetworkConfig{Name: "vmnet", Bridge: name})
	if !errors.Is(err, ErrNetworkExists) || !strings.Contains(err.Error(), name) {
		t.Errorf("network on the foreign bridge %s: %v, want ErrNetworkExists naming it", name, err)
	}
	if _, err := netlink.LinkByName(name); err != nil {
		t.Errorf("the foreign bridge is gone: %v", err)
	}
}

// TestHostsForExtraHosts: a container's extra hosts (docker --add-host) come after
// its own and its peers' entries, once each though two networks carry them.
func TestHostsForExtraHosts(t *testing.T) {
	m, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	extra := []HostsEntry{{IP: netip.MustParseAddr("10.9.9.9"), Names: []string{"db"}}, {IP: netip.MustParseAddr("10.60.0.1"), Names: []string{"gw"}}}
	a := fixtureNet("a", "skiff-a", "10.60.0.0/24", Endpoint{ContainerID: "c1", Name: "one", Hostname: "h1", ExtraHosts: extra})
	b := fixtureNet("b", "skiff-b", "10.61.0.0/24", Endpoint{ContainerID: "c1", Name: "one", Hostname: "h1", ExtraHosts: extra[:1]},
		Endpoint{ContainerID: "c2", Name: "two", Hostname: "h2"})
	for _, nf := range []*netFile{a, b} {
		if err := m.save(nf); err != nil {
			t.Fatal(err)
		}
	}
	got, err := m.HostsFor(context.Background(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	want := hostsHeader + "10.60.0.2\th1 one\n10.61.0.2\th1 one\n10.61.0.3\ttwo\n10.9.9.9\tdb\n10.60.0.1\tgw\n"
	if string(got) != want {
		t.Errorf("HostsFor =\n%s\nwant\n%s", got, want)
	}
	// Neighbours do not see another container's extra hosts.
	if got, _ := m.HostsFor(context.Background(), "c2"); strings.Contains(string(got), "db") {
		t.Errorf("c2's hosts list c1's extra host:\n%s", got)
	}
}
