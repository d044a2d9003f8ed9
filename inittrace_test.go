package skiff_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Package-level work of Skiff's packages runs at every start of the embedding binary:
// in every container init, exec helper and monitor, which re-execute it. These bounds
// hold Skiff's own packages to (nearly) none; a map literal or a regexp compiled at
// package init exceeds them.
const (
	initBytesPerPackage  = 4 << 10
	initAllocsPerPackage = 32
	initBytesTotal       = 8 << 10
	initAllocsTotal      = 64
)

// initCost is one line of GODEBUG=inittrace=1 output.
type initCost struct {
	pkg           string
	ms            float64
	bytes, allocs int
}

// parseInitTrace reads lines like
// "init github.com/x/y @1.2 ms, 0.05 ms clock, 664 bytes, 4 allocs".
func parseInitTrace(t *testing.T, out []byte) []initCost {
	t.Helper()
	var costs []initCost
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 11 || f[0] != "init" || f[6] != "clock," || f[8] != "bytes," || f[10] != "allocs" {
			continue
		}
		ms, err1 := strconv.ParseFloat(f[4], 64)
		b, err2 := strconv.Atoi(f[7])
		a, err3 := strconv.Atoi(f[9])
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatalf("unparsable inittrace line %q", sc.Text())
		}
		costs = append(costs, initCost{pkg: f[1], ms: ms, bytes: b, allocs: a})
	}
	return costs
}

// TestInitTrace re-executes this test binary (as Skiff re-executes its embedder for a
// container's init) with GODEBUG=inittrace=1 and checks what Skiff's packages cost
// before main.
func TestInitTrace(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("re-executed test binary: %v\n%s", err, out)
	}
	costs := parseInitTrace(t, out)
	var total initCost
	seen := map[string]bool{}
	for _, c := range costs {
		total.ms += c.ms
		if c.pkg != "github.com/skiffrt/skiff" && !strings.HasPrefix(c.pkg, "github.com/skiffrt/skiff/") {
			continue
		}
		seen[c.pkg] = true
		t.Logf("%-45s %6.3f ms %6d bytes %4d allocs", c.pkg, c.ms, c.bytes, c.allocs)
		if c.bytes > initBytesPerPackage || c.allocs > initAllocsPerPackage {
			t.Errorf("init of %s: %d bytes, %d allocs (bound %d bytes, %d allocs): build tables and regexps on first use",
				c.pkg, c.bytes, c.allocs, initBytesPerPackage, initAllocsPerPackage)
		}
		total.bytes += c.bytes
		total.allocs += c.allocs
	}
	for _, p := range []string{"github.com/skiffrt/skiff", "github.com/skiffrt/skiff/namespace", "github.com/skiffrt/skiff/netbridge",
		"github.com/skiffrt/skiff/cgroup", "github.com/skiffrt/skiff/dockerfile"} {
		if !seen[p] {
			t.Errorf("no inittrace line for %s in:\n%s", p, out)
		}
	}
	t.Logf("Skiff's packages: %d bytes, %d allocs; all %d package inits: %.1f ms clock", total.bytes, total.allocs, len(costs), total.ms)
	// What the binary's dependencies cost is logged, not bounded: it is the embedder's.
	slices.SortFunc(costs, func(a, b initCost) int { return b.bytes - a.bytes })
	for _, c := range costs[:min(5, len(costs))] {
		t.Logf("heaviest: %-45s %6.3f ms %8d bytes %6d allocs", c.pkg, c.ms, c.bytes, c.allocs)
	}
	if total.bytes > initBytesTotal || total.allocs > initAllocsTotal {
		t.Errorf("init of Skiff's packages: %d bytes, %d allocs in all (bound %d bytes, %d allocs)",
			total.bytes, total.allocs, initBytesTotal, initAllocsTotal)
	}
}
