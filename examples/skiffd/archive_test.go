package main

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tarNames lists the entry names of a tar.
func tarNames(t *testing.T, data string) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(strings.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatalf("tar: %v (entries so far %q)", err, names)
		}
		names = append(names, hdr.Name)
	}
}

// TestDockerCp: docker cp both ways, to and from stdin/stdout, into a created, a
// running and a read-only container, against skiffd.
func TestDockerCp(t *testing.T) {
	e := newEnv(t)
	img := e.busybox()
	e.ok("run", "-d", "--name", "cp", img, "sleep", "60")

	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "tree", "sub"), 0o755)
	os.WriteFile(filepath.Join(src, "tree", "sub", "f"), []byte("from the host\n"), 0o640)
	os.Symlink("sub/f", filepath.Join(src, "tree", "link"))
	e.ok("cp", filepath.Join(src, "tree"), "cp:/tmp/")
	if out := e.ok("exec", "cp", "sh", "-c", "cat /tmp/tree/sub/f /tmp/tree/link; stat -c %a /tmp/tree/sub/f"); out != "from the host\nfrom the host\n640\n" {
		t.Errorf("after docker cp to the container: %q", out)
	}

	// A file under a new name, and a directory's contents into a new directory.
	e.ok("cp", filepath.Join(src, "tree", "sub", "f"), "cp:/tmp/renamed")
	e.ok("cp", filepath.Join(src, "tree")+"/.", "cp:/tmp/flat")
	if out := e.ok("exec", "cp", "sh", "-c", "cat /tmp/renamed /tmp/flat/sub/f; readlink /tmp/flat/link"); out != "from the host\nfrom the host\nsub/f\n" {
		t.Errorf("docker cp with renames: %q", out)
	}

	dst := t.TempDir()
	e.ok("cp", "cp:/tmp/flat/.", filepath.Join(dst, "contents"))
	if b, err := os.ReadFile(filepath.Join(dst, "contents", "sub", "f")); err != nil || string(b) != "from the host\n" {
		t.Errorf("docker cp of a directory's contents: %q %v", b, err)
	}
	e.ok("cp", "cp:/tmp/tree", dst)
	if b, err := os.ReadFile(filepath.Join(dst, "tree", "sub", "f")); err != nil || string(b) != "from the host\n" {
		t.Errorf("docker cp from the container: %q %v", b, err)
	}
	if l, err := os.Readlink(filepath.Join(dst, "tree", "link")); err != nil || l != "sub/f" {
		t.Errorf("symlink copied back: %q %v", l, err)
	}
	e.ok("cp", "cp:/etc/hostname", filepath.Join(dst, "h"))
	if b, _ := os.ReadFile(filepath.Join(dst, "h")); len(b) < 12 {
		t.Errorf("copied /etc/hostname: %q", b)
	}

	// - : a tar on stdout, and one from stdin.
	out := e.ok("cp", "cp:/tmp/tree", "-")
	names := tarNames(t, out)
	slices.Sort(names)
	if !slices.Equal(names, []string{"tree/", "tree/link", "tree/sub/", "tree/sub/f"}) {
		t.Errorf("docker cp to stdout: %q", names)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "piped", Mode: 0o600, Size: 6, Typeflag: tar.TypeReg})
	tw.Write([]byte("piped\n"))
	tw.Close()
	if o, errs, code := e.runIn(buf.Bytes(), "cp", "-", "cp:/tmp"); code != 0 {
		t.Fatalf("docker cp - cp:/tmp: exit %d %s %s", code, o, errs)
	}
	if out := e.ok("exec", "cp", "cat", "/tmp/piped"); out != "piped\n" {
		t.Errorf("/tmp/piped: %q", out)
	}

	// Errors as Docker words them.
	_, errs, code := e.run("cp", "cp:/nope", dst)
	if code != 1 || !strings.Contains(errs, "Could not find the file /nope in container cp") {
		t.Errorf("docker cp of a missing path: exit %d, %q", code, errs)
	}
	_, errs, code = e.run("cp", filepath.Join(src, "tree"), "nosuch:/tmp")
	if code != 1 || !strings.Contains(errs, "No such container") {
		t.Errorf("docker cp to a missing container: exit %d, %q", code, errs)
	}

	// A created container gets its files before it starts; a read-only one refuses.
	e.ok("create", "--name", "early", img, "cat", "/tmp/tree/sub/f")
	e.ok("cp", filepath.Join(src, "tree"), "early:/tmp/")
	if out := e.ok("start", "-a", "early"); out != "from the host\n" {
		t.Errorf("file copied before start: %q", out)
	}
	e.ok("run", "-d", "--name", "ro", "--read-only", img, "sleep", "60")
	_, errs, code = e.run("cp", filepath.Join(src, "tree"), "ro:/tmp/")
	if code == 0 || !strings.Contains(errs, "read-only") {
		t.Errorf("docker cp into a read-only container: exit %d, %q", code, errs)
	}
}

// TestDockerStatsTopDiffExport: docker stats --no-stream, top, diff and export
// against skiffd.
func TestDockerStatsTopDiffExport(t *testing.T) {
	e := newEnv(t)
	img := e.busybox()
	e.ok("run", "-d", "--name", "box", "--memory", "64m", img, "sh", "-c", "touch /added; rm /etc/passwd; sleep 60")

	out := e.ok("stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}} {{.PIDs}} {{.CPUPerc}} {{.NetIO}}", "box")
	f := strings.Fields(out)
	if len(f) < 9 || f[0] != "box" || f[3] != "64MiB" || f[4] != "1" || !strings.HasSuffix(f[5], "%") {
		t.Errorf("docker stats --no-stream: %q", out)
	}
	if out := e.ok("stats", "--no-stream"); !strings.Contains(out, "box") || !strings.Contains(out, "CONTAINER ID") {
		t.Errorf("docker stats --no-stream (table): %q", out)
	}

	out = e.ok("top", "box")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "UID") ||
		!strings.Contains(out, "sleep 60") {
		t.Errorf("docker top: %q", out)
	}
	if out := e.ok("top", "box", "-o", "pid,comm"); !strings.Contains(out, "sleep") || !strings.HasPrefix(strings.TrimSpace(out), "PID") {
		t.Errorf("docker top -o pid,comm: %q", out)
	}

	// The container's shell may still be before its touch: wait for /added.
	e.ok("exec", "box", "sh", "-c", "while [ ! -e /added ]; do sleep 0.05; done")
	if out := e.ok("diff", "box"); out != "A /added\nC /etc\nD /etc/passwd\n" {
		t.Errorf("docker diff: %q", out)
	}

	exp := filepath.Join(t.TempDir(), "box.tar")
	e.ok("export", "-o", exp, "box")
	data, err := os.ReadFile(exp)
	if err != nil {
		t.Fatal(err)
	}
	names := tarNames(t, string(data))
	if !slices.Contains(names, "bin/busybox") || !slices.Contains(names, "added") || slices.Contains(names, "etc/passwd") {
		t.Errorf("docker export: %d entries, bin/busybox, added and no etc/passwd expected: %q", len(names), names)
	}

	e.ok("stop", "-t", "0", "box")
	_, errs, code := e.run("top", "box")
	if code != 1 || !strings.Contains(errs, "is not running") {
		t.Errorf("docker top of a stopped container: exit %d, %q", code, errs)
	}
}
