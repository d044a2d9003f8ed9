// Package composev1 drives skiffd with Debian's docker-compose 1.29 (Python, over
// docker-py): the two-service test app of the compose package (a build: service, a
// named volume, a user network with aliases, an env file, a healthcheck that the other
// service waits for, restart policies, a published port) up, reached, and down.
package composev1

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skiffrt/skiff/internal/testutil"
	"github.com/skiffrt/skiff/interop/harness"
)

func TestMain(m *testing.M) {
	harness.Init()
	code := m.Run()
	if v2Bin != "" {
		os.RemoveAll(filepath.Dir(v2Bin))
	}
	os.Exit(code)
}

func TestDockerComposeV1(t *testing.T) {
	composeApp(t, testutil.RequireBinary(t, "docker-compose"), "_", true)
}

// composeApp runs the app with the docker-compose binary bin, whose container names
// join project, service and number with sep; with scale, up --scale too.
func composeApp(t *testing.T, bin, sep string, scale bool) {
	env := harness.Start(t)
	name, port := testutil.RandomName("app"), testutil.FreePort(t)
	vars := filepath.Join(t.TempDir(), "vars.env")
	bridge := testutil.RandomName("skv")
	if err := os.WriteFile(vars, fmt.Appendf(nil, "BASE=%s\nWEB_PORT=%d\nBRIDGE=%s\n", env.Busybox, port, bridge), 0o644); err != nil {
		t.Fatal(err)
	}
	file, err := filepath.Abs("../../compose/testdata/app/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dc := func(args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"--ansi", "never", "-f", file, "-p", name, "--env-file", vars}, args...)...)
		cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0", "COMPOSE_DOCKER_CLI_BUILD=0")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return string(out) + stderr.String(), err
		}
		return string(out), nil
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := dc(args...)
		if err != nil {
			t.Fatalf("docker-compose %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	t.Cleanup(func() { dc("down", "-v", "-t", "1") })

	must("up", "-d", "--build")
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	served(t, url)
	out := must("ps")
	for _, re := range []string{
		`(?m)^` + name + sep + `web` + sep + `1\s.*\sUp\b.*127\.0\.0\.1:` + fmt.Sprint(port) + `->80/tcp`,
		`(?m)^` + name + sep + `worker` + sep + `1\s.*\sUp\b`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("ps lacks %s:\n%s", re, out)
		}
	}
	if out := must("exec", "-T", "worker", "wget", "-qO-", "http://www/"); out != "hello-from-env-file #0\n" {
		t.Errorf("exec wget through the alias: %q", out)
	}
	if out := must("logs", "--no-color", "worker"); !regexp.MustCompile(`(?m)^worker(_1|-1)?\s+\| worker \S+ starting$`).MatchString(out) {
		t.Errorf("logs:\n%s", out)
	}
	// Scale, stop, start, restart: the app is served again after each.
	if scale {
		must("up", "-d", "--scale", "worker=2")
	}
	if out := must("ps"); scale && !regexp.MustCompile(`(?m)^`+name+sep+`worker`+sep+`2\s.*\sUp\b`).MatchString(out) {
		t.Errorf("ps after --scale worker=2:\n%s", out)
	}
	must("stop", "-t", "2")
	must("start")
	served(t, url)
	must("restart", "-t", "2", "web")
	served(t, url)
	must("down", "-v")
	for _, what := range []string{"containers/json?all=1", "networks", "volumes"} {
		if got := apiGet(t, env.Socket, what); strings.Contains(got, name) {
			t.Errorf("GET /%s after down -v names the project: %s", what, got)
		}
	}
	t.Logf("routes docker-compose used:\n%s", routes(env.Log()))
	if out := must("ps", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("ps -q after down: %q", out)
	}
}

// routes lists the distinct API routes in skiffd's debug log, ids and names replaced.
func routes(log string) string {
	seen := map[string]int{}
	ids := regexp.MustCompile(`/[0-9a-f]{64}|/app[0-9a-f]{8}[^/ ]*|/v1\.[0-9]+`)
	for _, m := range regexp.MustCompile(`method=([A-Z]+) path=(\S+)`).FindAllStringSubmatch(log, -1) {
		seen[m[1]+" "+ids.ReplaceAllStringFunc(m[2], func(s string) string {
			if strings.HasPrefix(s, "/v1.") {
				return ""
			}
			return "/{x}"
		})]++
	}
	var out []string
	for r, n := range seen {
		out = append(out, fmt.Sprintf("%4d %s", n, r))
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

// apiGet returns the body of GET /path from skiffd.
func apiGet(t *testing.T, socket, path string) string {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", socket)
	}}}
	resp, err := c.Get("http://skiffd/" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// served waits until url serves the app's page.
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
