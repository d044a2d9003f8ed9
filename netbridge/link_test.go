package netbridge

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/skiffrt/skiff/errdefs"
)

// TestLegacyLinks: on the default network, where containers do not see each other's
// names, a container linked to another lists it in its hosts file under the alias,
// the linked container's hostname and name; the linked container's Neighbors include
// it (its hosts file follows the linked one's address); RemoveLink drops the entry.
func TestLegacyLinks(t *testing.T) {
	ctx := context.Background()
	m := newTestManager(t)
	db, web := "d"+randHex(12), "w"+randHex(12)
	dbEp, err := m.Attach(ctx, DefaultNetwork, db, newNetns(t), AttachOptions{Name: "db1", Hostname: "dbhost"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Attach(ctx, DefaultNetwork, web, newNetns(t), AttachOptions{Name: "web1", Hostname: "webhost",
		Links: []Link{{Container: db, Alias: "store"}}}); err != nil {
		t.Fatal(err)
	}
	hosts, err := m.HostsFor(ctx, web)
	if err != nil {
		t.Fatal(err)
	}
	want := dbEp.IP().String() + "\tstore dbhost db1\n"
	if !strings.Contains(string(hosts), want) {
		t.Errorf("hosts of the linking container lack %q:\n%s", want, hosts)
	}
	if hosts, _ := m.HostsFor(ctx, db); strings.Contains(string(hosts), "web1") {
		t.Errorf("the linked container lists the linking one:\n%s", hosts)
	}
	if ns, err := m.Neighbors(ctx, db); err != nil || !slices.Contains(ns, web) {
		t.Errorf("neighbors of the linked container: %v, %v; want the linking one", ns, err)
	}
	if err := m.RemoveLink(ctx, web, "store"); err != nil {
		t.Fatal(err)
	}
	if hosts, _ := m.HostsFor(ctx, web); strings.Contains(string(hosts), "store") {
		t.Errorf("hosts after RemoveLink still list the alias:\n%s", hosts)
	}
	if err := m.RemoveLink(ctx, web, "store"); !errors.Is(err, ErrLinkNotFound) || !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("RemoveLink of a removed link: %v, want ErrLinkNotFound", err)
	}
}
