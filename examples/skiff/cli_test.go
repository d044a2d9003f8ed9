package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/skiffrt/skiff/internal/testutil"
	"github.com/skiffrt/skiff/netbridge"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildDir  string
)

// skiffBin builds the CLI once per test binary (or uses $SKIFF_CLI, a prebuilt one).
func skiffBin(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SKIFF_CLI"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "skiff-cli-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "skiff")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err == nil {
			// The init binary, next to skiff where skiff finds it: the CLI's
			// containers' inits and exec helpers run from it, as installed.
			cmd := exec.Command("go", "build", "-o", filepath.Join(buildDir, "skiff-nsinit"), "../skiff-nsinit")
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			out, err = cmd.CombinedOutput()
		}
		if err == nil {
			// The compose plugin, next to skiff where `skiff compose` looks for it.
			out, err = exec.Command("go", "build", "-o", filepath.Join(buildDir, "skiff-compose"), "../skiff-compose").CombinedOutput()
		}
		if err != nil {
			buildErr = err
			binPath = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("go build: %v\n%s", buildErr, binPath)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

type cli struct {
	t    *testing.T
	root string
	env  []string
}

// run runs skiff --root R args... with stdin and returns stdout, stderr and exit code.
func (c *cli) run(stdin string, args ...string) (string, string, int) {
	c.t.Helper()
	cmd := exec.Command(skiffBin(c.t), append([]string{"--root", c.root}, args...)...)
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("skiff %q: %v", args, err)
	}
	return stdout.String(), stderr.String(), code
}

// ok runs args and fails unless they exit 0.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	out, errOut, code := c.run("", args...)
	if code != 0 {
		c.t.Fatalf("skiff %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func newCLI(t *testing.T) *cli {
	testutil.RequireRoot(t)
	// Registered first, so run last, once the root is gone: the default bridge and
	// nft table the CLI made for it go too.
	t.Cleanup(func() { netbridge.SweepClaims(netbridge.DefaultClaimDir) })
	root := t.TempDir()
	testutil.CheckLeaks(t, root)
	return &cli{t: t, root: root, env: []string{"DOCKER_CONFIG=" + t.TempDir()}}
}

func TestCLIImageWorkflow(t *testing.T) {
	c := newCLI(t)
	addr := testutil.StartRegistry(t)
	ref := addr + "/skiff/busybox:latest"
	testutil.PushImage(t, ref, testutil.Busybox(t))

	out := c.ok("pull", ref)
	for _, want := range []string{"latest: Pulling from " + addr + "/skiff/busybox", ": Pull complete", "Digest: sha256:", "Status: Downloaded image for " + ref, "\n" + ref + "\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("pull output lacks %q:\n%s", want, out)
		}
	}
	out = c.ok("images")
	if !regexp.MustCompile(`(?m)^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(addr+"/skiff/busybox")+`\s+latest\s+[0-9a-f]{12}\s`).MatchString(out) {
		t.Errorf("images output:\n%s", out)
	}
	id := c.ok("images", "-q")
	if !regexp.MustCompile(`^[0-9a-f]{12}\n$`).MatchString(id) {
		t.Errorf("images -q: %q", id)
	}

	other := addr + "/other/bb:v2"
	c.ok("tag", ref, other)
	out = c.ok("push", other)
	if !strings.Contains(out, "The push refers to repository ["+addr+"/other/bb]") || !strings.Contains(out, "v2: digest: sha256:") {
		t.Errorf("push output:\n%s", out)
	}
	// The pushed image pulls into another root.
	c2 := &cli{t: t, root: t.TempDir(), env: c.env}
	testutil.CheckLeaks(t, c2.root)
	c2.ok("pull", "-q", other)
	out = c.ok("image", "inspect", "--format", "{{.Id}}", other)
	if strings.TrimSpace(out) != "sha256:"+strings.TrimSpace(c2.ok("images", "-q", "--no-trunc")[7:]) {
		t.Errorf("image inspect in root 1 (%q) and image ID in root 2 differ", out)
	}
	out = c.ok("inspect", ref)
	if !strings.Contains(out, `"RepoTags": [`) || !strings.Contains(out, `"Architecture": "amd64"`) {
		t.Errorf("inspect of an image:\n%s", out)
	}
	if _, errOut, code := c.run("", "inspect", "no-such-thing"); code != 1 || !strings.Contains(errOut, "no-such-thing") {
		t.Errorf("inspect of nothing: exit %d, stderr %q", code, errOut)
	}

	out = c.ok("rmi", other)
	if out != "Untagged: "+other+"\n" {
		t.Errorf("rmi of one of two names: %q", out)
	}
	out = c.ok("system", "df")
	if !regexp.MustCompile(`(?m)^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^Images\s+1\s+0\s+\S+\s+\S+ \(100%\)$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^Containers\s+0\s+0\s+0B\s+0B$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^Local Volumes\s+0\s+0\s+0B\s+0B$`).MatchString(out) {
		t.Errorf("system df:\n%s", out)
	}
	if out := c.ok("system", "check"); !strings.HasSuffix(out, "clean\n") {
		t.Errorf("system check of a clean root:\n%s", out)
	}
	// A half-created container dir makes the root unclean: exit 1 until repaired.
	half := filepath.Join(c.root, "containers", strings.Repeat("cd", 32))
	os.MkdirAll(half, 0o700)
	out, _, code := c.run("", "system", "check")
	if code != 1 || !strings.Contains(out, "half-created container dir: "+half) {
		t.Errorf("system check with a half-created dir: exit %d\n%s", code, out)
	}
	if out := c.ok("system", "check", "--repair"); !strings.Contains(out, "repaired: clean") {
		t.Errorf("system check --repair:\n%s", out)
	}
	c.ok("system", "check")

	out = c.ok("rmi", ref)
	if !strings.Contains(out, "Untagged: "+ref+"\n") || !strings.Contains(out, "Deleted: sha256:") {
		t.Errorf("rmi of the last name: %q", out)
	}
	if _, errOut, code := c.run("", "rmi", ref); code != 1 || !strings.Contains(errOut, ref) {
		t.Errorf("rmi of a missing image: exit %d, stderr %q", code, errOut)
	}
	out = c.ok("image", "prune", "-f")
	if !strings.Contains(out, "Total reclaimed space:") {
		t.Errorf("image prune: %q", out)
	}
	if layers, _ := filepath.Glob(filepath.Join(c.root, "layers/layers/sha256*")); len(layers) != 0 {
		t.Errorf("layers left after rmi and prune: %v", layers)
	}
}

func TestCLILogin(t *testing.T) {
	c := newCLI(t)
	addr := testutil.StartRegistryAuth(t, "alice", "s3cret")
	config := filepath.Join(strings.TrimPrefix(c.env[0], "DOCKER_CONFIG="), "config.json")

	_, errOut, code := c.run("", "login", "-u", "alice", "-p", "wrong", addr)
	if code == 0 || !strings.Contains(errOut, addr) || !strings.Contains(errOut, "unauthorized") {
		t.Errorf("login with a wrong password: exit %d, stderr %q; want non-zero naming %s", code, errOut, addr)
	}
	if _, err := os.Stat(config); !os.IsNotExist(err) {
		t.Errorf("a failed login wrote %s (%v)", config, err)
	}
	out, errOut, code := c.run("s3cret\n", "login", "-u", "alice", "--password-stdin", addr)
	if code != 0 || !strings.Contains(out, "Login Succeeded") {
		t.Fatalf("login: exit %d\n%s%s", code, out, errOut)
	}
	b, _ := os.ReadFile(config)
	if !strings.Contains(string(b), addr) {
		t.Errorf("config.json after login lacks %s:\n%s", addr, b)
	}
	// The stored credentials let a push through.
	ref := addr + "/skiff/busybox:latest"
	testutil.PushImage(t, ref, testutil.Busybox(t), remote.WithAuth(&authn.Basic{Username: "alice", Password: "s3cret"}))
	c.ok("pull", "-q", ref)
	c.ok("tag", ref, addr+"/skiff/copy:v1")
	c.ok("push", "-q", addr+"/skiff/copy:v1")

	if out := c.ok("logout", addr); !strings.Contains(out, "Removing login credentials for "+addr) {
		t.Errorf("logout: %q", out)
	}
	b, _ = os.ReadFile(config)
	if strings.Contains(string(b), addr) {
		t.Errorf("config.json after logout still names %s:\n%s", addr, b)
	}
	if _, errOut, code := c.run("", "push", "-q", addr+"/skiff/copy:v1"); code == 0 || !strings.Contains(errOut, addr) {
		t.Errorf("push after logout: exit %d, stderr %q", code, errOut)
	}
}

func TestCLIPullPlatform(t *testing.T) {
	c := newCLI(t)
	addr := testutil.StartRegistry(t)
	ref := addr + "/skiff/multi:latest"
	testutil.PushIndex(t, ref, testutil.BusyboxMultiArch(t))

	c.ok("pull", "-q", "--platform", "linux/arm64", ref)
	out := c.ok("image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", ref)
	if out != "linux/arm64\n" {
		t.Errorf("pull --platform linux/arm64 stored %q", out)
	}
	c.ok("pull", "-q", ref)
	if out := c.ok("inspect", "--format", "{{.Architecture}}", ref); out != "amd64\n" {
		t.Errorf("pull without --platform stored %q, want the host's amd64", out)
	}
	_, errOut, code := c.run("", "pull", "--platform", "linux/s390x", ref)
	if code == 0 || !strings.Contains(errOut, "linux/arm64") || !strings.Contains(errOut, "linux/amd64") {
		t.Errorf("pull of an absent platform: exit %d, stderr %q; want the available ones listed", code, errOut)
	}
	if _, errOut, code := c.run("", "pull", "--platform", "nonsense/x/y/z", ref); code == 0 || !strings.Contains(errOut, "platform") {
		t.Errorf("pull --platform with garbage: exit %d, %q", code, errOut)
	}
}
