package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFileReplacesWholeAndLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	for i, o := range []Options{{}, {Perm: 0o600, Durable: true}} {
		if err := WriteJSON(p, map[string]int{"n": i}, o); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		want := "{\n  \"n\": " + string(rune('0'+i)) + "\n}"
		if string(b) != want {
			t.Fatalf("content %q, want %q", b, want)
		}
		fi, _ := os.Stat(p)
		wantPerm := o.Perm
		if wantPerm == 0 {
			wantPerm = 0o644
		}
		if fi.Mode().Perm() != wantPerm {
			t.Fatalf("mode %v, want %v", fi.Mode().Perm(), wantPerm)
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("dir holds %d entries, want only the file: %v", len(ents), ents)
	}
}

func TestWriteFileErrorNamesPathAndLeavesOld(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := WriteFile(p, []byte("old"), Options{}); err != nil {
		t.Fatal(err)
	}
	// A directory in the way of the rename: the write fails and the target is kept.
	bad := filepath.Join(dir, "sub")
	os.Mkdir(bad, 0o755)
	os.WriteFile(filepath.Join(bad, "x"), nil, 0o644)
	err := WriteFile(bad, []byte("new"), Options{})
	if err == nil {
		t.Fatal("writing over a non-empty dir succeeded")
	}
	if !strings.Contains(err.Error(), bad) {
		t.Fatalf("error %q does not name %s", err, bad)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if IsTemp(e.Name()) {
			t.Fatalf("temp file %s left behind", e.Name())
		}
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Fatalf("other file changed: %q", b)
	}
}
