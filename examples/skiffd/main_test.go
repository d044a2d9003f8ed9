package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/internal/testutil"
)

// The test binary is also skiffd: with daemonEnv set it runs main's run instead of the
// tests, so a test can start skiffd as a separate process (and restart it).
const daemonEnv = "_SKIFFD_TEST_DAEMON"

func TestMain(m *testing.M) {
	skiff.Init()
	if os.Getenv(daemonEnv) == "1" {
		os.Exit(run(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// env is one skiffd on a temp socket and root, and a docker CLI pointed at it.
type env struct {
	t        *testing.T
	root     string
	sock     string
	dockerCf string
	link     string
	parent   string
	cmd      *exec.Cmd
	log      *bytes.Buffer
	docker   string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	testutil.RequireRoot(t)
	docker := testutil.RequireBinary(t, "docker")
	dir := t.TempDir()
	e := &env{t: t, root: filepath.Join(dir, "root"), sock: filepath.Join(dir, "docker.sock"),
		dockerCf: filepath.Join(dir, "docker-config"), link: testutil.RandomName("skd"),
		parent: testutil.RandomName("skiffd-test-"), docker: docker}
	os.MkdirAll(e.dockerCf, 0o700)
	// Checked after e.cleanup (cleanups run last-registered first): no mount, cgroup,
	// bridge, temp file or process of the test may outlive it.
	testutil.CheckLeaks(t, e.root, testutil.WithCgroupPrefix(e.parent), testutil.WithLinkPrefix(e.link))
	e.start()
	t.Cleanup(e.cleanup)
	return e
}

func (e *env) start() {
	e.t.Helper()
	e.log = &bytes.Buffer{}
	cmd := exec.Command("/proc/self/exe", "-H", "unix://"+e.sock, "--root", e.root,
		"--nft-table", e.link, "--bridge", e.link, "--cgroup-parent", e.parent, "--debug")
	cmd.Env = append(os.Environ(), daemonEnv+"=1")
	cmd.Stdout, cmd.Stderr = e.log, e.log
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("unix", e.sock); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("skiffd did not listen on %s:\n%s", e.sock, e.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends skiffd (SIGTERM) and waits for it.
func (e *env) stop() {
	if e.cmd == nil {
		return
	}
	e.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { e.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		e.cmd.Process.Kill()
		<-done
	}
	e.cmd = nil
}

func (e *env) cleanup() {
	ctx := context.Background()
	if e.cmd != nil {
		out, _, _ := e.run("ps", "-aq")
		for _, id := range strings.Fields(out) {
			e.run("rm", "-f", id)
		}
		e.stop()
	}
	if e.t.Failed() {
		e.t.Logf("skiffd log:\n%s", e.log)
	}
	eng, err := skiff.New(skiff.WithRoot(e.root), skiff.WithCgroupParent(e.parent), skiff.WithNetworkNames(e.link, e.link))
	if err == nil {
		cs, _ := eng.Containers(ctx)
		for _, c := range cs {
			c.Delete(ctx, skiff.WithForce())
		}
		nets, _ := eng.Networks().Networks(ctx)
		for _, n := range nets {
			eng.Networks().RemoveNetwork(ctx, n.Name)
		}
	}
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + e.parent)
	for _, d := range dirs {
		os.Remove(d)
	}
}

// run runs the docker CLI against skiffd and returns stdout, stderr and the exit code.
func (e *env) run(args ...string) (string, string, int) {
	return e.runIn(nil, args...)
}

func (e *env) runIn(stdin []byte, args ...string) (string, string, int) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.docker, args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+e.sock, "DOCKER_CONFIG="+e.dockerCf, "DOCKER_BUILDKIT=0")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("docker %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// ok runs docker and fails the test unless it exits 0; it returns stdout.
func (e *env) ok(args ...string) string {
	e.t.Helper()
	out, errs, code := e.run(args...)
	if code != 0 {
		e.t.Fatalf("docker %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// busybox pushes the busybox test image to a fresh registry and pulls it through
// skiffd; it returns the image's name.
func (e *env) busybox() string {
	e.t.Helper()
	addr := testutil.StartRegistry(e.t)
	ref := addr + "/busybox:latest"
	testutil.PushImage(e.t, ref, testutil.Busybox(e.t))
	out := e.ok("pull", ref)
	if !strings.Contains(out, ref) {
		e.t.Fatalf("docker pull %s printed %q, want the reference", ref, out)
	}
	return ref
}
