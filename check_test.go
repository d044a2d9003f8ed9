package skiff_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/internal/testutil"
)

// stallingProxy forwards to the registry at addr; while stall is set, blob downloads send
// half their bytes and then hang until the client goes away.
func stallingProxy(t *testing.T, addr string, stall *atomic.Bool) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, "http://"+addr+r.URL.RequestURI(), r.Body)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		if !stall.Load() || r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/") || resp.ContentLength < 1024 {
			io.Copy(w, resp.Body)
			return
		}
		io.CopyN(w, resp.Body, resp.ContentLength/2)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestHelperEnginePull is not a test: TestCheckAfterKilledPull runs the test binary with
// it to pull in a process it can SIGKILL.
func TestHelperEnginePull(t *testing.T) {
	root, ref := os.Getenv("SKIFF_HELPER_ROOT"), os.Getenv("SKIFF_HELPER_REF")
	if root == "" {
		t.Skip("helper process only")
	}
	e, err := skiff.New(skiff.WithRoot(root), skiff.WithNetworkNames("skhelper", "skhelper0"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Pull(context.Background(), ref)
	t.Fatalf("pull returned (it should have been killed): %v", err)
}

// TestCheckAfterKilledPull: a pull SIGKILLed while layers download and unpack leaves temp
// files that Check reports and repairs; afterwards Check is clean and the next pull
// completes and runs.
func TestCheckAfterKilledPull(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e := newEngine(t)
	var stall atomic.Bool
	addr := stallingProxy(t, testutil.StartRegistry(t), &stall)
	ref := addr + "/skiff/busybox:latest"
	testutil.PushImage(t, ref, testutil.Busybox(t))

	if rep, err := e.Check(ctx, skiff.CheckOptions{}); err != nil || !rep.Clean() {
		t.Fatalf("check of a fresh root: %+v %v", rep, err)
	}
	stall.Store(true)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperEnginePull$")
	cmd.Env = append(os.Environ(), "SKIFF_HELPER_ROOT="+e.Root(), "SKIFF_HELPER_REF="+ref)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		blobs, _ := filepath.Glob(filepath.Join(e.Root(), "images/blobs/sha256/.tmp-*"))
		layers, _ := filepath.Glob(filepath.Join(e.Layers().Root(), ".tmp-*"))
		if len(blobs) > 0 && len(layers) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the helper never started writing a blob and a layer")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	rep, err := e.Check(ctx, skiff.CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Clean() || len(rep.Images.Temps) == 0 || len(rep.LayerTemps) == 0 {
		t.Fatalf("check after a killed pull: %+v (images %+v), want blob and layer temps", rep, rep.Images)
	}
	if imgs, _ := e.Images().List(ctx); len(imgs) != 0 {
		t.Errorf("a killed pull left a visible image")
	}
	if l, _ := e.Layers().List(); len(l) > 3 {
		t.Errorf("layers visible after a killed pull: %v", l)
	}
	if _, err := e.Check(ctx, skiff.CheckOptions{Repair: true}); err != nil {
		t.Fatal(err)
	}
	if rep, err := e.Check(ctx, skiff.CheckOptions{}); err != nil || !rep.Clean() {
		t.Fatalf("check after repair: %+v (images %+v) %v", rep, rep.Images, err)
	}
	stall.Store(false)
	if _, err := e.Pull(ctx, ref); err != nil {
		t.Fatalf("pull after repair: %v", err)
	}
	out, _, st := run(t, e, skiff.ContainerConfig{Image: ref, Cmd: []string{"echo", "ok"}})
	if out != "ok\n" || st.Code != 0 {
		t.Errorf("run after repair: %q exit %d", out, st.Code)
	}
	if rep, err := e.Check(ctx, skiff.CheckOptions{}); err != nil || !rep.Clean() {
		t.Fatalf("check after the second pull: %+v %v", rep, err)
	}
}

// TestCheckContainers: a container dir without state.json (a killed Create) and a
// container whose process and reaper are gone (a killed owner) are reported; repair
// removes the first, releases the second's mount and cgroup and marks it exited.
func TestCheckContainers(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t)
	img := busybox(t, e)

	half := filepath.Join(e.Root(), "containers", strings.Repeat("ab", 32))
	if err := os.MkdirAll(filepath.Join(half, "merged"), 0o700); err != nil {
		t.Fatal(err)
	}
	c, err := e.Create(ctx, skiff.ContainerConfig{Image: img, Cmd: []string{"sleep", "60"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Delete(context.Background(), skiff.WithForce()) })
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// Its owner "dies": the state names a reaped pid, and its process is killed.
	dead := exec.Command("true")
	dead.Run()
	statePath := filepath.Join(e.Root(), "containers", c.ID(), "state.json")
	var st map[string]any
	b, _ := os.ReadFile(statePath)
	json.Unmarshal(b, &st)
	st["owner"] = dead.Process.Pid
	b, _ = json.Marshal(st)
	if err := os.WriteFile(statePath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	syscall.Kill(c.State().Pid, syscall.SIGKILL)
	c.Wait(ctx)
	// Wait recorded the exit; put the state back to "running" as a killed owner leaves it.
	b, _ = os.ReadFile(statePath)
	json.Unmarshal(b, &st)
	st["status"], st["pid"] = "running", 0
	b, _ = json.Marshal(st)
	os.WriteFile(statePath, b, 0o600)

	rep, err := e.Check(ctx, skiff.CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.HalfCreated) != 1 || rep.HalfCreated[0] != half || len(rep.Lost) != 1 || rep.Lost[0] != c.ID() {
		t.Fatalf("check: half-created %v, lost %v; want [%s] and [%s]", rep.HalfCreated, rep.Lost, half, c.ID())
	}
	if _, err := e.Check(ctx, skiff.CheckOptions{Repair: true}); err != nil {
		t.Fatal(err)
	}
	if rep, err := e.Check(ctx, skiff.CheckOptions{}); err != nil || !rep.Clean() {
		t.Fatalf("check after repair: %+v %v", rep, err)
	}
	if _, err := os.Stat(half); !os.IsNotExist(err) {
		t.Errorf("half-created dir still there: %v", err)
	}
	c2, err := e.Container(ctx, c.ID())
	if err != nil {
		t.Fatal(err)
	}
	if s := c2.State(); s.Status != skiff.StatusExited || s.ExitCode != 255 {
		t.Errorf("lost container after repair: %s (%d), want exited (255)", s.Status, s.ExitCode)
	}
}

// TestNextPullHealsKilledPull: after a pull is SIGKILLed mid-download, the next pull
// (of any image) removes what the dead one left, so Check is clean without a repair.
func TestNextPullHealsKilledPull(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e := newEngine(t)
	var stall atomic.Bool
	addr := stallingProxy(t, testutil.StartRegistry(t), &stall)
	ref := addr + "/skiff/busybox:latest"
	testutil.PushImage(t, ref, testutil.Busybox(t))

	stall.Store(true)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperEnginePull$")
	cmd.Env = append(os.Environ(), "SKIFF_HELPER_ROOT="+e.Root(), "SKIFF_HELPER_REF="+ref)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		blobs, _ := filepath.Glob(filepath.Join(e.Root(), "images/blobs/sha256/.tmp-*"))
		layers, _ := filepath.Glob(filepath.Join(e.Layers().Root(), ".tmp-*"))
		if len(blobs) > 0 && len(layers) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the helper never started writing a blob and a layer")
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if rep, err := e.Check(ctx, skiff.CheckOptions{}); err != nil || rep.Clean() {
		t.Fatalf("check right after the kill: %+v %v, want the dead pull's temps", rep, err)
	}

	stall.Store(false)
	if _, err := e.Pull(ctx, ref); err != nil {
		t.Fatalf("pull after the killed one: %v", err)
	}
	rep, err := e.Check(ctx, skiff.CheckOptions{})
	if err != nil || !rep.Clean() {
		t.Fatalf("check after the next pull, without repair: %+v (images %+v) %v", rep, rep.Images, err)
	}
}
