package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/skiffrt/skiff/internal/testutil"
)

// TestCLIRunPullCIDFilePublishAll: --pull never/always/missing (with -q), --cidfile
// (written once, refused when it exists, gone when the create fails) and -P with
// --expose (each exposed port published on a free host port, -p ones kept).
func TestCLIRunPullCIDFilePublishAll(t *testing.T) {
	c := newCLI(t)
	withBusybox(t, c)
	addr := testutil.StartRegistry(t)
	ref := addr + "/skiff/busybox:latest"
	testutil.PushImage(t, ref, testutil.Busybox(t))

	c.expect(125, "", "", "No such image: "+ref, "run", "--rm", "--pull", "never", "--network", "none", ref, "true")
	c.expect(125, "", "", `invalid argument "sometimes" for "--pull" flag`, "run", "--pull", "sometimes", "busybox", "true")
	if _, errOut, code := c.run("", "run", "--rm", "-q", "--network", "none", ref, "true"); code != 0 || strings.Contains(errOut, "Unable to find image") {
		t.Errorf("run -q of a missing image: exit %d, stderr %q (want no pull message)", code, errOut)
	}
	c.expect(0, "", "ok\n", "", "run", "--rm", "--pull", "always", "--network", "none", ref, "echo", "ok")
	c.expect(0, "", "", "", "rmi", ref)
	c.expect(0, "", "", "Unable to find image '"+ref+"' locally", "run", "--rm", "--network", "none", ref, "true")

	dir := t.TempDir()
	cid := filepath.Join(dir, "cid")
	id := strings.TrimSpace(c.ok("run", "-d", "--cidfile", cid, "--network", "none", "busybox", "sleep", "600"))
	if b, err := os.ReadFile(cid); err != nil || string(b) != id {
		t.Errorf("cidfile holds %q (%v), want %s", b, err, id)
	}
	c.expect(125, "", "", "container ID file found", "run", "-d", "--cidfile", cid, "--network", "none", "busybox", "sleep", "600")
	if ids := strings.Fields(c.ok("ps", "-aq")); len(ids) != 1 {
		t.Errorf("containers after a refused --cidfile: %v, want only the first", ids)
	}
	failed := filepath.Join(dir, "failed")
	c.expect(125, "", "", "", "create", "--cidfile", failed, "--network", "nosuchnet", "busybox", "true")
	if _, err := os.Stat(failed); !os.IsNotExist(err) {
		t.Errorf("the cidfile of a failed create is left: %v", err)
	}
	c.ok("rm", "-f", id)

	c.expect(125, "", "", `invalid argument "80/sctp" for "--expose" flag`, "run", "--expose", "80/sctp", "busybox", "true")
	pid := strings.TrimSpace(c.ok("run", "-d", "-P", "--expose", "8080", "--expose", "9000-9001/udp", "-p", "127.0.0.1:18999:9000/udp",
		"busybox", "sleep", "600"))
	t.Cleanup(func() { c.run("", "rm", "-f", pid) })
	out := c.ok("port", pid)
	for _, re := range []string{`(?m)^8080/tcp -> 0\.0\.0\.0:\d+$`, `(?m)^9000/udp -> 127\.0\.0\.1:18999$`, `(?m)^9001/udp -> 0\.0\.0\.0:\d+$`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("port after -P lacks %s:\n%s", re, out)
		}
	}
	if n := len(strings.Split(strings.TrimSpace(out), "\n")); n != 3 {
		t.Errorf("port after -P lists %d mappings, want 3:\n%s", n, out)
	}
}

// TestCLIPsOrderLastFilters: ps lists the newest first; -n and -l show the last created
// whatever their state; exited= and ancestor= filter.
func TestCLIPsOrderLastFilters(t *testing.T) {
	c := newCLI(t)
	withBusybox(t, c)
	a := strings.TrimSpace(c.ok("run", "-d", "--network", "none", "busybox", "true"))[:12]
	c.ok("wait", a)
	b := strings.TrimSpace(c.ok("run", "-d", "--network", "none", "busybox", "sh", "-c", "exit 3"))[:12]
	c.ok("wait", b)
	d := strings.TrimSpace(c.ok("run", "-d", "--network", "none", "busybox", "sleep", "600"))[:12]
	t.Cleanup(func() { c.run("", "rm", "-f", d) })
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"ps", "-aq"}, d + " " + b + " " + a},
		{[]string{"ps", "-q"}, d},
		{[]string{"ps", "-lq"}, d},
		{[]string{"ps", "-q", "-n", "2"}, d + " " + b},
		{[]string{"ps", "-aq", "-f", "exited=3"}, b},
		{[]string{"ps", "-aq", "-f", "exited=0"}, a},
		{[]string{"ps", "-aq", "-f", "ancestor=busybox"}, d + " " + b + " " + a},
		{[]string{"ps", "-aq", "-f", "ancestor=docker.io/library/busybox:latest", "-f", "exited=3"}, b},
		{[]string{"ps", "-aq", "-f", "ancestor=other"}, ""},
	} {
		if got := strings.Join(strings.Fields(c.ok(tc.args...)), " "); got != tc.want {
			t.Errorf("%s: %q, want %q", strings.Join(tc.args, " "), got, tc.want)
		}
	}
	c.expect(1, "", "", "invalid filter 'exited=x'", "ps", "-f", "exited=x")
	// docker's columns, and -s adds the sizes.
	out := c.ok("ps", "-s")
	if !regexp.MustCompile(`^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES\s+SIZE\n` + d + `\s+busybox\s+"sleep 600"\s+.* ago\s+Up .*\s\d+(\.\d+)?k?B \(virtual \d+(\.\d+)?[kM]B\)\n$`).MatchString(out) {
		t.Errorf("ps -s:\n%s", out)
	}
}

// TestCLIImagesFilter: images -f dangling=, reference= (a glob on the familiar or full
// name, with or without the tag; also as the positional argument) and label=. An image
// whose name moved to another is not listed at all (the store keeps images by name;
// prune collects its blobs), so dangling=true lists nothing here.
func TestCLIImagesFilter(t *testing.T) {
	c := newCLI(t)
	withBusybox(t, c)
	c.ok("run", "--name", "w", "--network", "none", "busybox", "sh", "-c", "echo 1 > /v")
	c.ok("commit", "w", "t/x:1")
	c.ok("rm", "w")
	c.ok("run", "--name", "w", "--network", "none", "busybox", "sh", "-c", "echo 2 > /v")
	c.ok("commit", "-c", "LABEL stage=two", "w", "t/x:1") // takes the name
	c.ok("rm", "w")
	newID := strings.TrimSpace(c.ok("images", "-q", "t/x:1"))
	bbID := strings.TrimSpace(c.ok("images", "-q", "busybox"))
	if newID == "" || bbID == "" || newID == bbID {
		t.Fatalf("images -q REF: %q and %q", newID, bbID)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"images", "-q", "-f", "dangling=true"}, ""},
		{[]string{"images", "--format", "{{.Repository}}:{{.Tag}}", "-f", "reference=t/*"}, "t/x:1"},
		{[]string{"images", "--format", "{{.Repository}}", "-f", "reference=busybox"}, "busybox"},
		{[]string{"images", "--format", "{{.Repository}}", "-f", "reference=busy*:latest", "-f", "dangling=false"}, "busybox"},
		{[]string{"images", "-q", "-f", "label=stage=two"}, newID},
		{[]string{"images", "-q", "-f", "label=stage=one"}, ""},
		{[]string{"images", "-aq", "t/x"}, newID},
	} {
		if got := strings.Join(strings.Fields(c.ok(tc.args...)), " "); got != tc.want {
			t.Errorf("%s: %q, want %q", strings.Join(tc.args, " "), got, tc.want)
		}
	}
	c.expect(1, "", "", "invalid filter 'dangling=maybe'", "images", "-f", "dangling=maybe")
}

// TestCLIClosedStdout: a listing whose reader is gone ends quietly with 141 (a death
// by SIGPIPE, as docker's), not with an error message.
func TestCLIClosedStdout(t *testing.T) {
	c := newCLI(t)
	withBusybox(t, c)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close() // nobody reads
	cmd := exec.Command(skiffBin(t), "--root", c.root, "images")
	cmd.Env = append(os.Environ(), c.env...)
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = w, &stderr
	err = cmd.Run()
	w.Close()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 141 || stderr.String() != "" {
		t.Errorf("images into a closed pipe: %v, stderr %q; want exit 141 and no message", err, stderr.String())
	}
}

// TestCLILogsUntil: logs --until keeps the entries up to that time; a follower stops
// once the clock passes it, though the container runs on.
func TestCLILogsUntil(t *testing.T) {
	c := newCLI(t)
	withBusybox(t, c)
	id := strings.TrimSpace(c.ok("run", "-d", "--network", "none", "busybox", "sh", "-c", "echo a; sleep 0.5; echo b; exec sleep 600"))
	t.Cleanup(func() { c.run("", "rm", "-f", id) })
	var lines []string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if lines = strings.Split(strings.TrimSpace(c.ok("logs", "-t", id)), "\n"); len(lines) == 2 {
			break
		}
	}
	if len(lines) != 2 {
		t.Fatalf("logs -t: %q", lines)
	}
	ta, _, _ := strings.Cut(lines[0], " ")
	at, err := time.Parse(time.RFC3339Nano, ta)
	if err != nil {
		t.Fatal(err)
	}
	c.expect(0, "", "a\n", "", "logs", "--until", at.Add(time.Millisecond).Format(time.RFC3339Nano), id)
	if out := c.ok("logs", "--until", "0s", id); out != "a\nb\n" {
		t.Errorf("logs --until 0s (now): %q", out)
	}
	start := time.Now()
	if out := c.ok("logs", "-f", "--until", time.Now().Add(time.Second).Format(time.RFC3339Nano), id); out != "a\nb\n" {
		t.Errorf("logs -f --until: %q", out)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("logs -f --until a second from now returned after %v", took)
	}
	c.expect(125, "", "", `invalid argument "soon" for "--until" flag`, "logs", "--until", "soon", id)
}
