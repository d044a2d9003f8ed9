package netbridge

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
)

// allocate is the IPAM half of Attach: take the lock, load, allocate, save.
func allocate(ctx context.Context, m *Manager, network, owner string) (netip.Addr, error) {
	unlock, err := m.lock(ctx)
	if err != nil {
		return netip.Addr{}, err
	}
	defer unlock()
	nf, err := m.load(network)
	if err != nil {
		return netip.Addr{}, err
	}
	ip, err := nf.IPAM.Allocate(owner)
	if err != nil {
		return netip.Addr{}, err
	}
	return ip, m.save(nf)
}

// seedNetwork records a network without touching the kernel.
func seedNetwork(t *testing.T, dir, name, subnet string) {
	m, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	ipam, err := NewIPAM(netip.MustParsePrefix(subnet))
	if err != nil {
		t.Fatal(err)
	}
	nf := &netFile{Network: Network{Name: name, ID: randomID(), Bridge: "unused", Subnet: ipam.Subnet, Gateway: ipam.Gateway}, IPAM: ipam}
	if err := m.save(nf); err != nil {
		t.Fatal(err)
	}
}

func checkUnique(t *testing.T, dir, network string, got map[netip.Addr]string, want int) {
	t.Helper()
	if len(got) != want {
		t.Fatalf("%d distinct addresses handed out, want %d", len(got), want)
	}
	m, _ := New(dir)
	nf, err := m.load(network)
	if err != nil {
		t.Fatal(err)
	}
	if len(nf.IPAM.Allocated) != want {
		t.Fatalf("state has %d allocations, want %d", len(nf.IPAM.Allocated), want)
	}
	for ip, owner := range got {
		if nf.IPAM.Owner(ip) != owner {
			t.Errorf("%s: state owner %q, handed to %q", ip, nf.IPAM.Owner(ip), owner)
		}
	}
}

func TestIPAMTwoManagersParallel(t *testing.T) {
	dir := t.TempDir()
	seedNetwork(t, dir, "n", "10.77.0.0/22")
	m1, _ := New(dir)
	m2, _ := New(dir)
	const per = 50
	var mu sync.Mutex
	got := map[netip.Addr]string{}
	var wg sync.WaitGroup
	for g := range 8 {
		m := m1
		if g%2 == 1 {
			m = m2
		}
		wg.Go(func() {
			for i := range per {
				owner := fmt.Sprintf("g%d-%d", g, i)
				ip, err := allocate(context.Background(), m, "n", owner)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if prev, dup := got[ip]; dup {
					t.Errorf("%s handed to %s and %s", ip, prev, owner)
				}
				got[ip] = owner
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	checkUnique(t, dir, "n", got, 8*per)
}

// TestIPAMHelperProcess is the body run by the child processes of TestIPAMTwoProcesses.
func TestIPAMHelperProcess(t *testing.T) {
	dir := os.Getenv("NETBRIDGE_HELPER_DIR")
	if dir == "" {
		return // only meaningful as a child of TestIPAMTwoProcesses
	}
	m, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(os.Getenv("NETBRIDGE_HELPER_N"))
	for i := range n {
		owner := fmt.Sprintf("%s-%d", os.Getenv("NETBRIDGE_HELPER_NAME"), i)
		ip, err := allocate(context.Background(), m, "n", owner)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("ALLOC %s %s\n", ip, owner)
	}
}

func TestIPAMTwoProcesses(t *testing.T) {
	dir := t.TempDir()
	seedNetwork(t, dir, "n", "10.77.0.0/22")
	const procs, per = 3, 60
	outs := make([]bytes.Buffer, procs)
	var cmds []*exec.Cmd
	for p := range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestIPAMHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), "NETBRIDGE_HELPER_DIR="+dir,
			"NETBRIDGE_HELPER_N="+strconv.Itoa(per), fmt.Sprintf("NETBRIDGE_HELPER_NAME=p%d", p))
		cmd.Stdout, cmd.Stderr = &outs[p], &outs[p]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	got := map[netip.Addr]string{}
	for p, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("helper %d: %v\n%s", p, err, outs[p].String())
		}
		sc := bufio.NewScanner(&outs[p])
		for sc.Scan() {
			var ip, owner string
			if n, _ := fmt.Sscanf(sc.Text(), "ALLOC %s %s", &ip, &owner); n != 2 {
				continue
			}
			a := netip.MustParseAddr(ip)
			if prev, dup := got[a]; dup {
				t.Errorf("%s handed to %s and %s", a, prev, owner)
			}
			got[a] = owner
		}
	}
	checkUnique(t, dir, "n", got, procs*per)
}
