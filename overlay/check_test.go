package overlay

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/skiffrt/skiff/internal/lockfile"
)

// TestCheckLiveness: Check counts a temp dir or a dangling short link as stale only when
// no process holds its layer's lock, and repair removes exactly what it reported. It
// needs no root: the store's layout is plain dirs, links and flocks.
func TestCheckLiveness(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	dead, busy := chainFor("dead").Encoded(), chainFor("busy").Encoded()
	mk := func(name string) string {
		t.Helper()
		p := filepath.Join(s.Root(), name)
		if err := os.MkdirAll(filepath.Join(p, "diff", "etc"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	link := func(hex string) string {
		t.Helper()
		p := filepath.Join(s.Root(), linksDir, shortName(hex))
		if err := os.Symlink(filepath.Join("..", hex, diffDir), p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	deadTmp, deadRm := mk(tmpPfx+dead+"-1"), mk(rmPfx+dead+"-2")
	deadLink := link(dead)
	busyTmp := mk(tmpPfx + busy + "-3")
	busyLink := link(busy)
	foreign := mk(".tmp-notahex-4") // not a name the store makes: left alone
	// A process working on "busy" holds its lock, as Unpack and Remove do.
	held, err := lockfile.TryLock(filepath.Join(s.Root(), locksDir, busy), lockfile.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(held.Unlock)

	rep, err := s.Check(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	wantTemps := []string{deadTmp, deadRm}
	slices.Sort(wantTemps)
	slices.Sort(rep.Temps)
	if !slices.Equal(rep.Temps, wantTemps) || !slices.Equal(rep.DanglingLinks, []string{deadLink}) || rep.Clean() {
		t.Fatalf("check: temps %q, links %q; want %q and [%s]", rep.Temps, rep.DanglingLinks, wantTemps, deadLink)
	}
	for _, p := range []string{deadTmp, deadRm, busyTmp, foreign} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("check without repair touched %s: %v", p, err)
		}
	}

	if _, err := s.Check(ctx, true); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{deadTmp, deadRm, deadLink} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("repair left %s (%v)", p, err)
		}
	}
	for _, p := range []string{busyTmp, busyLink, foreign} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("repair removed %s, which is not stale: %v", p, err)
		}
	}
	if rep, err := s.Check(ctx, false); err != nil || !rep.Clean() {
		t.Fatalf("check after repair: %+v, %v; want clean", rep, err)
	}

	// The worker dies (its lock goes with it): now its leftovers are stale.
	held.Unlock()
	rep, err = s.Check(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Temps, []string{busyTmp}) || !slices.Equal(rep.DanglingLinks, []string{busyLink}) {
		t.Fatalf("check after the worker died: temps %q, links %q; want [%s] and [%s]", rep.Temps, rep.DanglingLinks, busyTmp, busyLink)
	}
	if got := digest.NewDigestFromEncoded(digest.SHA256, busy); s.Has(got) {
		t.Errorf("a stale temp became a layer")
	}
}
