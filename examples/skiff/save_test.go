package main

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// tarManifest reads the RepoTags of a docker-archive's manifest.json.
func tarManifest(t *testing.T, r io.Reader) []string {
	t.Helper()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			t.Fatal("no manifest.json in the archive")
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name != "manifest.json" {
			continue
		}
		var m []struct{ RepoTags []string }
		if err := json.NewDecoder(tr).Decode(&m); err != nil {
			t.Fatal(err)
		}
		var tags []string
		for _, e := range m {
			tags = append(tags, e.RepoTags...)
		}
		slices.Sort(tags)
		return tags
	}
}

// TestCLISaveLoadHistory: history of a committed image (newest first, the image's ID on
// top, a layer's size, the commit message; -q, --no-trunc, --format); save to a file and
// to stdout, load from a file and from stdin, the loaded image runs; a failed save
// leaves no file and a bad archive is refused naming the problem.
func TestCLISaveLoadHistory(t *testing.T) {
	c := newCLI(t)
	withBusybox(t, c)
	c.ok("run", "--name", "w", "--network", "none", "busybox", "sh", "-c", "head -c 20000 /dev/urandom > /f")
	c.ok("commit", "-m", "wrote f", "-c", `CMD ["wc", "-c", "/f"]`, "w", "saved/box:1")
	c.ok("rm", "w")
	id := strings.TrimSpace(c.ok("image", "inspect", "--format", "{{.Id}}", "saved/box:1"))

	hist := c.ok("history", "saved/box:1")
	lines := strings.Split(strings.TrimSpace(hist), "\n")
	if len(lines) < 3 || !regexp.MustCompile(`^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$`).MatchString(lines[0]) {
		t.Fatalf("history:\n%s", hist)
	}
	top := regexp.MustCompile(`^([0-9a-f]{12})\s+.* ago\s+skiff commit\s+(\d+(\.\d+)?kB)\s+wrote f$`).FindStringSubmatch(lines[1])
	if top == nil || "sha256:"+top[1] != id[:19] {
		t.Errorf("history's top row %q: want the image ID %s, the commit's layer (~20kB) and its message", lines[1], id)
	}
	for _, l := range lines[2:] {
		if !strings.HasPrefix(l, "<missing>") {
			t.Errorf("history row below the top %q: want <missing>", l)
		}
	}
	if q := c.ok("history", "-q", "--no-trunc", "saved/box:1"); !strings.HasPrefix(q, id+"\n<missing>\n") {
		t.Errorf("history -q --no-trunc: %q", q)
	}
	if f := c.ok("history", "--format", "{{.ID}}|{{.Comment}}", "-H=false", "saved/box:1"); !strings.HasPrefix(f, top[1]+"|wrote f\n") {
		t.Errorf("history --format: %q", f)
	}
	if _, errOut, code := c.run("", "history", "no/such:image"); code != 1 || !strings.Contains(errOut, "no/such:image") {
		t.Errorf("history of a missing image: exit %d, %q", code, errOut)
	}

	// An imported image has a creation time and docker's one history step.
	c.ok("import", os.DevNull, "imported/empty:1")
	if h := c.ok("history", "--format", "{{.CreatedSince}}|{{.Comment}}", "imported/empty:1"); !regexp.MustCompile(`^(Less than a second|\d+ seconds?) ago\|Imported from -\n$`).MatchString(h) {
		t.Errorf("history of an imported image: %q", h)
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "imgs.tar")
	c.ok("save", "-o", file, "saved/box:1", "busybox")
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	if tags := tarManifest(t, f); !slices.Equal(tags, []string{"busybox:latest", "saved/box:1"}) {
		t.Errorf("saved tags %q", tags)
	}
	f.Close()
	c.ok("rmi", "saved/box:1")
	out := c.ok("load", "-i", file)
	if !strings.Contains(out, "Loaded image: saved/box:1\n") || !strings.Contains(out, "Loaded image: busybox:latest\n") {
		t.Errorf("load -i: %q", out)
	}
	c.expect(0, "", "20000 /f\n", "", "run", "--rm", "--network", "none", "saved/box:1")

	// Through stdout and stdin.
	tarOut, errOut, code := c.run("", "image", "save", "saved/box:1")
	if code != 0 {
		t.Fatalf("save to stdout: exit %d: %s", code, errOut)
	}
	if tags := tarManifest(t, strings.NewReader(tarOut)); !slices.Equal(tags, []string{"saved/box:1"}) {
		t.Errorf("tags saved to stdout %q", tags)
	}
	c.ok("rmi", "saved/box:1")
	if out, errOut, code := c.run(tarOut, "load"); code != 0 || out != "Loaded image: saved/box:1\n" {
		t.Errorf("load from stdin: exit %d, %q, %q", code, out, errOut)
	}
	if got := strings.TrimSpace(c.ok("image", "inspect", "--format", "{{.Id}}", "saved/box:1")); got != id {
		t.Errorf("the loaded image's ID %s, want %s", got, id)
	}

	// Failures.
	missing := filepath.Join(dir, "missing.tar")
	if _, errOut, code := c.run("", "save", "-o", missing, "no/such:image"); code != 1 || !strings.Contains(errOut, "no/such:image") {
		t.Errorf("save of a missing image: exit %d, %q", code, errOut)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("a failed save left files: %v", ents)
	}
	if _, errOut, code := c.run("", "save", "-o", filepath.Join(dir, "nodir", "x.tar"), "saved/box:1"); code != 1 || !strings.Contains(errOut, "invalid output path") {
		t.Errorf("save into a missing dir: exit %d, %q", code, errOut)
	}
	if _, errOut, code := c.run("not a tar", "load"); code != 1 || !strings.Contains(errOut, "invalid image archive") {
		t.Errorf("load of a non-archive: exit %d, %q", code, errOut)
	}
}

// TestCLIBuilderPrune: builder prune asks first, lists the cache objects it removed and
// the space reclaimed; the image built stays and the next prune finds nothing.
func TestCLIBuilderPrune(t *testing.T) {
	c := newCLI(t)
	withBusybox(t, c)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM busybox\nCOPY x /x\nRUN cat /x > /y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "x"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.ok("build", "-q", "-t", "pruned/app:1", dir)
	c.expect(0, "n\n", "Are you sure you want to continue? [y/N]", "", "builder", "prune")
	out := c.ok("builder", "prune", "-f")
	if !regexp.MustCompile(`^Deleted build cache objects:\n([0-9a-f]{64}\n)+\nTotal reclaimed space: [1-9]`).MatchString(out) {
		t.Errorf("builder prune -f:\n%s", out)
	}
	if out := c.ok("builder", "prune", "-af"); out != "Total reclaimed space: 0B\n" {
		t.Errorf("second builder prune:\n%s", out)
	}
	c.expect(0, "", "hello\n", "", "run", "--rm", "--network", "none", "pruned/app:1", "cat", "/y")
}
