package netbridge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"runtime"
	"testing"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/skiffrt/skiff/internal/testutil"
)

// need skips the test with reason outside CI and fails it when CI=true.
func need(t testing.TB, what string, ok bool) {
	t.Helper()
	testutil.Require(t, what, ok)
}

func requireRoot(t testing.TB) {
	t.Helper()
	need(t, "root (netlink, netns, nftables)", os.Geteuid() == 0)
}

func randHex(n int) string {
	b := make([]byte, (n+1)/2)
	rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// testSubnet picks 10.213.X.0/24 (X random) overlapping no host route.
func testSubnet(t testing.TB) netip.Prefix {
	t.Helper()
	routes, err := hostRoutes("")
	if err != nil {
		t.Fatal(err)
	}
	for range 200 {
		var b [1]byte
		rand.Read(b[:])
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 213, b[0], 0}), 24)
		if _, ok := overlaps(p, routes); !ok {
			return p
		}
	}
	t.Fatal("no free 10.213.x.0/24 test subnet")
	return netip.Prefix{}
}

// newTestManager returns a Manager on a temp state dir with its own nft table and default
// bridge name. Cleanup detaches every endpoint, removes every network and deletes the
// table, then fails the test if any of its links or the table remain.
func newTestManager(t testing.TB, opts ...Option) *Manager {
	t.Helper()
	requireRoot(t)
	suffix := randHex(6)
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts = append([]Option{WithTable("skifftest" + suffix), WithDefaultBridge("skt" + suffix), WithLogger(quiet)}, opts...)
	m, err := New(t.TempDir(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		unlock, err := m.lock(ctx)
		if err != nil {
			t.Error(err)
			return
		}
		nets, err := m.loadAll()
		if err != nil {
			t.Error(err)
		}
		var links []string
		for _, nf := range nets {
			links = append(links, nf.Network.Bridge)
			for id, ep := range nf.Endpoints {
				links = append(links, ep.HostVeth)
				m.detachLocked(nf, id)
			}
			m.removeLocked(ctx, nf)
		}
		unlock()
		deleteTable(m.table)
		for _, l := range links {
			if _, err := netlink.LinkByName(l); err == nil {
				t.Errorf("leak: link %s remains", l)
				deleteLink(l)
			}
		}
		if tableExists(m.table) {
			t.Errorf("leak: nft table ip %s remains", m.table)
		}
	})
	return m
}

func deleteTable(name string) {
	c, err := nftables.New()
	if err != nil {
		return
	}
	if tableExists(name) {
		c.DelTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: name})
		c.Flush()
	}
}

func tableExists(name string) bool {
	c, err := nftables.New()
	if err != nil {
		return false
	}
	ts, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return false
	}
	for _, tb := range ts {
		if tb.Name == name {
			return true
		}
	}
	return false
}

// newNetns creates a named netns (ip netns add) and returns its path; cleanup deletes it.
func newNetns(t testing.TB) string {
	t.Helper()
	name := "skifft-" + randHex(8)
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	ns, err := netns.NewNamed(name)
	if serr := netns.Set(orig); serr != nil {
		t.Fatalf("restore netns: %v", serr) // thread stays locked and dies with the test
	}
	orig.Close()
	runtime.UnlockOSThread()
	if err != nil {
		t.Fatalf("ip netns add %s: %v", name, err)
	}
	ns.Close()
	t.Cleanup(func() {
		if err := netns.DeleteNamed(name); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("ip netns del %s: %v", name, err)
		}
	})
	return "/var/run/netns/" + name
}

// inNetns runs fn on a locked OS thread inside the netns at path.
func inNetns(t testing.TB, path string, fn func() error) error {
	t.Helper()
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	ns, err := netns.GetFromPath(path)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open netns %s: %w", path, err)
	}
	defer ns.Close()
	if err := netns.Set(ns); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setns %s: %w", path, err)
	}
	ferr := fn()
	if err := netns.Set(orig); err != nil {
		// Leave the thread locked: the runtime discards it when the goroutine ends.
		return errors.Join(ferr, fmt.Errorf("restore netns: %w", err))
	}
	runtime.UnlockOSThread()
	return ferr
}

// nsHandle opens a netlink handle in the netns at path.
func nsHandle(t testing.TB, path string) *netlink.Handle {
	t.Helper()
	ns, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}
