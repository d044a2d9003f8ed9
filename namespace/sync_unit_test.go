package namespace

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestCheckProto: an init refuses a parent of another protocol version, naming both.
func TestCheckProto(t *testing.T) {
	if err := checkProto(&syncMsg{Type: msgGo, Proto: protoVersion}); err != nil {
		t.Errorf("same version: %v", err)
	}
	for _, v := range []int{0, protoVersion + 1} {
		err := checkProto(&syncMsg{Type: msgGo, Proto: v})
		if err == nil || !strings.Contains(err.Error(), "protocol version") {
			t.Errorf("parent version %d: %v, want a refusal naming the versions", v, err)
		}
	}
	// writeMsg stamps the version on the messages that start a child's work.
	var b strings.Builder
	if err := writeMsg(&b, &syncMsg{Type: msgExec}); err != nil || !strings.Contains(b.String(), `"proto":1`) {
		t.Errorf("writeMsg(exec) = %q, %v", b.String(), err)
	}
}

// TestWireFilter: a compiled filter crosses the sync socket unchanged, and the "go"
// message carries it instead of the profile, without touching the caller's spec.
func TestWireFilter(t *testing.T) {
	spec := DefaultSpec("/", "true")
	f, err := compileSeccomp(spec.Linux.Seccomp)
	if err != nil {
		t.Fatal(err)
	}
	m := goMessage(spec, f, "/fifo", false)
	if m.Spec.Linux.Seccomp != nil || spec.Linux.Seccomp == nil {
		t.Fatalf("go message spec seccomp %v, caller's %v: want the profile only in the caller's", m.Spec.Linux.Seccomp, spec.Linux.Seccomp)
	}
	var b strings.Builder
	if err := writeMsg(&b, m); err != nil {
		t.Fatal(err)
	}
	back, err := readMsg(json.NewDecoder(strings.NewReader(b.String())))
	if err != nil {
		t.Fatal(err)
	}
	g, err := back.Filter.filter()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g.prog, f.prog) || g.flags != f.flags || len(g.prog) < 100 {
		t.Errorf("filter of %d instructions came back as %d (flags %d → %d)", len(f.prog), len(g.prog), f.flags, g.flags)
	}
	if _, err := (&wireFilter{Prog: make([]byte, 12)}).filter(); err == nil {
		t.Error("a filter of 12 bytes was accepted")
	}
	if g, err := (*wireFilter)(nil).filter(); g != nil || err != nil {
		t.Errorf("no filter: %v %v", g, err)
	}
}
