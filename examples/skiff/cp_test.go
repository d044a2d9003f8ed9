package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLICpStatsTopDiffExport: skiff cp both ways (with renames, "dir/." and tar on
// stdin/stdout), stats --no-stream, top with ps options, diff and export.
func TestCLICpStatsTopDiffExport(t *testing.T) {
	c := newCLI(t)
	withBusybox(t, c)
	c.ok("run", "-d", "--name", "box", "--network", "none", "--memory", "32m", "busybox", "sleep", "60")

	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "d", "sub"), 0o755)
	os.WriteFile(filepath.Join(src, "d", "sub", "f"), []byte("f\n"), 0o644)
	os.WriteFile(filepath.Join(src, "one"), []byte("one\n"), 0o600)
	c.ok("cp", filepath.Join(src, "d"), "box:/tmp")            // into a dir: /tmp/d
	c.ok("cp", filepath.Join(src, "d"), "box:/tmp/renamed")    // a new name
	c.ok("cp", filepath.Join(src, "d")+"/.", "box:/tmp/flat/") // contents into a new dir
	c.ok("cp", filepath.Join(src, "one"), "box:/tmp/two")      // a file under a new name
	want := "/tmp/d/sub/f\n/tmp/flat/sub/f\n/tmp/renamed/sub/f\n/tmp/two\n"
	if out := c.ok("exec", "box", "sh", "-c", "find /tmp -type f | sort"); out != want {
		t.Errorf("files after cp in: %q, want %q", out, want)
	}
	c.expect(1, "", "", "Could not find the file /nope in container box", "cp", "box:/nope", src)

	dst := t.TempDir()
	c.ok("cp", "box:/tmp/renamed", dst)                        // into an existing dir
	c.ok("cp", "box:/tmp/renamed", filepath.Join(dst, "back")) // as a new name
	c.ok("cp", "box:/tmp/d/.", filepath.Join(dst, "contents")) // a dir's contents
	c.ok("cp", "box:/tmp/two", filepath.Join(dst, "three"))    // a file as a new name
	for _, p := range []string{"renamed/sub/f", "back/sub/f", "contents/sub/f", "three"} {
		if _, err := os.Stat(filepath.Join(dst, p)); err != nil {
			t.Errorf("after cp out: %v", err)
		}
	}
	tarOut := c.ok("cp", "box:/tmp/two", "-")
	if _, _, code := c.run(tarOut, "cp", "-", "box:/"); code != 0 {
		t.Errorf("cp - box:/ of cp's own tar: exit %d", code)
	}
	c.expect(0, "", "one\n", "", "exec", "box", "cat", "/two")

	out := c.ok("stats", "--no-stream", "box")
	if !strings.HasPrefix(out, "CONTAINER ID") || !strings.Contains(out, "box") || !strings.Contains(out, "/ 32MiB") {
		t.Errorf("stats --no-stream: %q", out)
	}
	if out := c.ok("top", "box", "-o", "pid,args"); !strings.HasPrefix(out, "PID") || !strings.Contains(out, "sleep 60") {
		t.Errorf("top box -o pid,args: %q", out)
	}
	c.expect(0, "", "C /tmp\nA /tmp/d\n", "", "diff", "box")
	exp := filepath.Join(t.TempDir(), "box.tar")
	c.ok("export", "-o", exp, "box")
	if fi, err := os.Stat(exp); err != nil || fi.Size() < 1<<20 {
		t.Errorf("export: %v %v", fi, err)
	}
	c.ok("rm", "-f", "box")
}
