package netbridge

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
)

// TestSweepClaims: the bridge and the table claimed by a state dir that is gone are
// deleted with their claims; those of a live state dir stay.
func TestSweepClaims(t *testing.T) {
	requireRoot(t)
	claims := t.TempDir()
	live := t.TempDir()
	gone := filepath.Join(t.TempDir(), "deleted-root", "network")
	goneBridge, liveBridge, goneTable := "skf"+randHex(8), "skf"+randHex(8), "skf"+randHex(8)
	for _, name := range []string{goneBridge, liveBridge} {
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}
		if err := netlink.LinkAdd(br); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { netlink.LinkDel(br) })
	}
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	c.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: goneTable})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { applyRuleset(Ruleset{Table: goneTable}) })
	for name, owner := range map[string]string{"bridge-" + goneBridge: gone, "table-" + goneTable: gone, "bridge-" + liveBridge: live} {
		if err := os.WriteFile(filepath.Join(claims, name), []byte(owner), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	SweepClaims(claims)
	if _, err := netlink.LinkByName(goneBridge); err == nil {
		t.Errorf("bridge %s of a deleted root is still there", goneBridge)
	}
	if _, err := netlink.LinkByName(liveBridge); err != nil {
		t.Errorf("bridge %s of a live root was deleted: %v", liveBridge, err)
	}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(tables, func(x *nftables.Table) bool { return x.Name == goneTable }) {
		t.Errorf("table %s of a deleted root is still there", goneTable)
	}
	left, _ := os.ReadDir(claims)
	if len(left) != 1 || left[0].Name() != "bridge-"+liveBridge {
		t.Errorf("claims left: %v, want only the live root's", left)
	}
}
