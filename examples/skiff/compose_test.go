package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/skiffrt/skiff/internal/testutil"
)

// TestCLICompose runs the test app of compose/testdata/app through skiff compose:
// config, up -d --build, ps, logs, exec, the app reached on its published port, and
// down -v leaving nothing.
func TestCLICompose(t *testing.T) {
	c := newCLI(t)
	addr := testutil.StartRegistry(t)
	ref := addr + "/compose/busybox:latest"
	testutil.PushImage(t, ref, testutil.Busybox(t))
	name, bridge, port := testutil.RandomName("app"), testutil.RandomName("skc"), testutil.FreePort(t)
	vars := filepath.Join(t.TempDir(), "vars.env")
	if err := os.WriteFile(vars, fmt.Appendf(nil, "BASE=%s\nWEB_PORT=%d\nBRIDGE=%s\n", ref, port, bridge), 0o644); err != nil {
		t.Fatal(err)
	}
	file, err := filepath.Abs("../../compose/testdata/app/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cc := func(args ...string) string {
		t.Helper()
		return c.ok(append([]string{"compose", "-f", file, "-p", name, "--env-file", vars}, args...)...)
	}
	t.Cleanup(func() {
		c.run("", "compose", "-f", file, "-p", name, "--env-file", vars, "down", "-v", "-t", "1")
	})

	if out := cc("config"); !strings.Contains(out, "GREETING: hello-from-env-file") || !strings.Contains(out, "name: "+name) {
		t.Errorf("config output:\n%s", out)
	}
	cc("up", "-d", "--build")
	out := cc("ps")
	for _, re := range []string{
		`(?m)^NAME\s+IMAGE\s+SERVICE\s+STATUS\s+PORTS$`,
		`(?m)^` + name + `-web-1\s+` + regexp.QuoteMeta(ref) + `\s+web\s+running\s+127\.0\.0\.1:` + fmt.Sprint(port) + `->80/tcp$`,
		`(?m)^` + name + `-worker-1\s+` + name + `-worker\s+worker\s+running\s*$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("ps output lacks %s:\n%s", re, out)
		}
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	served(t, url)
	if out := cc("exec", "-T", "worker", "wget", "-qO-", "http://www/"); out != "hello-from-env-file #0\n" {
		t.Errorf("exec wget through the alias: %q", out)
	}
	if _, _, code := c.run("", "compose", "-f", file, "-p", name, "--env-file", vars, "exec", "-T", "worker", "sh", "-c", "exit 4"); code != 4 {
		t.Errorf("exec exit 4: got %d", code)
	}
	if out := cc("logs", "worker"); !regexp.MustCompile(`(?m)^` + name + `-worker-1 \| worker \S+ starting$`).MatchString(out) {
		t.Errorf("logs:\n%s", out)
	}
	cc("stop", "-t", "2")
	if out := cc("ps"); !strings.Contains(out, "exited (0)") || strings.Contains(out, "running") {
		t.Errorf("ps after stop:\n%s", out)
	}
	cc("start")
	served(t, url)
	cc("restart", "-t", "2", "web")
	served(t, url)
	cc("down", "-v")
	if out := c.ok("ps", "-a", "-q"); out != "" {
		t.Errorf("containers after down: %q", out)
	}
	if out := c.ok("volume", "ls", "-q"); out != "" {
		t.Errorf("volumes after down -v: %q", out)
	}
	if out := c.ok("network", "ls"); strings.Contains(out, name) {
		t.Errorf("networks after down:\n%s", out)
	}
	if _, err := os.Stat("/sys/class/net/" + bridge); err == nil {
		t.Errorf("bridge %s left after down", bridge)
	}
}

// served waits until url serves the compose test app's page.
func served(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var last string
	for last != "hello-from-env-file #0\n" {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = string(b)
		} else if ctx.Err() != nil {
			t.Fatalf("GET %s: %v (last %q)", url, err, last)
		}
	}
}
