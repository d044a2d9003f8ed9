// Package harness starts what the interop tests drive: Debian's docker-registry on
// 127.0.0.1 holding the busybox test image, and skiffd (built from this tree) on a
// socket of its own, with its own root, bridge, nftables table and cgroup parent, all
// removed when the test ends.
package harness

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/internal/testutil"
)

// Env is one running skiffd and registry.
type Env struct {
	// Socket is skiffd's unix socket; Host is DOCKER_HOST for it.
	Socket, Host string
	// Registry is the registry's host:port; Busybox the busybox image's name in it
	// (pulled by the client under test, not by the harness).
	Registry, Busybox string

	t                  testing.TB
	root, link, parent string
	cmd                *exec.Cmd
	log                *bytes.Buffer
}

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
	buildOut  []byte
)

// skiffd builds examples/skiffd once per test binary, with examples/skiff-nsinit
// beside it, where skiffd finds it: as installed, containers' inits, exec helpers and
// waiting monitors run from the small program.
func skiffd(t testing.TB) string {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "skiffd-interop-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "skiffd")
		cmd := exec.Command("go", "build", "-o", binary, "github.com/skiffrt/skiff/examples/skiffd")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		buildOut, buildErr = cmd.CombinedOutput()
		if buildErr == nil {
			cmd = exec.Command("go", "build", "-o", filepath.Join(dir, "skiff-nsinit"), "github.com/skiffrt/skiff/examples/skiff-nsinit")
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			buildOut, buildErr = cmd.CombinedOutput()
		}
	})
	if buildErr != nil {
		t.Fatalf("build skiffd: %v\n%s", buildErr, buildOut)
	}
	return binary
}

// Start starts a registry with the busybox image and a skiffd for test t, and sets
// DOCKER_HOST for the test. Everything is removed, and checked for leaks, when t ends.
func Start(t *testing.T) *Env {
	t.Helper()
	testutil.RequireRoot(t)
	bin := skiffd(t)
	dir := t.TempDir()
	e := &Env{t: t, root: filepath.Join(dir, "root"), Socket: filepath.Join(dir, "docker.sock"),
		link: testutil.RandomName("sko"), parent: testutil.RandomName("skiff-interop-")}
	e.Host = "unix://" + e.Socket
	testutil.CheckLeaks(t, e.root, testutil.WithCgroupPrefix(e.parent), testutil.WithLinkPrefix(e.link))
	e.Registry = testutil.StartRegistry(t)
	e.Busybox = e.Registry + "/busybox:latest"
	testutil.PushImage(t, e.Busybox, testutil.Busybox(t))

	e.log = &bytes.Buffer{}
	e.cmd = exec.Command(bin, "-H", e.Host, "--root", e.root, "--nft-table", e.link, "--bridge", e.link,
		"--cgroup-parent", e.parent, "--debug")
	e.cmd.Stdout, e.cmd.Stderr = e.log, e.log
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.cleanup)
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("unix", e.Socket); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("skiffd did not listen on %s:\n%s", e.Socket, e.log)
		}
	}
	t.Setenv("DOCKER_HOST", e.Host)
	t.Setenv("DOCKER_CONFIG", filepath.Join(dir, "docker-config"))
	return e
}

// Log is what skiffd printed so far.
func (e *Env) Log() string { return e.log.String() }

func (e *Env) cleanup() {
	ctx := context.Background()
	if e.t.Failed() {
		e.t.Logf("skiffd log:\n%s", tail(e.log.String(), 200))
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
	// What the client under test left behind goes with the engine root.
	eng, err := skiff.New(skiff.WithRoot(e.root), skiff.WithCgroupParent(e.parent), skiff.WithNetworkNames(e.link, e.link))
	if err == nil {
		cs, _ := eng.Containers(ctx)
		for _, c := range cs {
			c.Delete(ctx, skiff.WithForce(), skiff.WithVolumes())
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

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// Init must be called first in TestMain: the interop tests run no container
// themselves, but the engine they open for cleanup may re-execute the test binary.
func Init() {
	skiff.Init()
}
