package compose_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/compose"
	"github.com/skiffrt/skiff/internal/testutil"
)

func TestMain(m *testing.M) {
	skiff.Init()
	os.Exit(m.Run())
}

// app is the two-service test app of testdata/app, ready to load.
type app struct {
	e       *skiff.Engine
	name    string // project name
	bridge  string // the user network's bridge device
	port    int    // web's published port on 127.0.0.1
	envFile string // the interpolation variables
}

// newApp returns an engine on a fresh root (checked for leaks at the end) and the
// test app's settings: busybox pushed to a registry on 127.0.0.1, a free port, unique
// names.
func newApp(t *testing.T) *app {
	t.Helper()
	testutil.RequireRoot(t)
	root := t.TempDir()
	parent := testutil.RandomName("skiff-test-")
	link := testutil.RandomName("skc")
	testutil.CheckLeaks(t, root, testutil.WithCgroupPrefix(parent), testutil.WithLinkPrefix(link))
	t.Cleanup(func() {
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + parent)
		for _, d := range dirs {
			os.Remove(d)
		}
	})
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	e, err := skiff.New(skiff.WithRoot(root), skiff.WithCgroupParent(parent),
		skiff.WithNetworkNames(link, link), skiff.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // whatever a failed test left
		ctx := context.Background()
		cs, _ := e.Containers(ctx)
		for _, c := range cs {
			_ = c.Delete(ctx, skiff.WithForce())
		}
		nets, _ := e.Networks().Networks(ctx)
		for _, n := range nets {
			_ = e.Networks().RemoveNetwork(ctx, n.Name)
		}
	})
	addr := testutil.StartRegistry(t)
	ref := addr + "/compose/busybox:latest"
	testutil.PushImage(t, ref, testutil.Busybox(t))
	a := &app{e: e, name: testutil.RandomName("app"), bridge: link + "b", port: testutil.FreePort(t)}
	a.envFile = filepath.Join(t.TempDir(), "vars.env")
	vars := fmt.Sprintf("BASE=%s\nWEB_PORT=%d\nBRIDGE=%s\n", ref, a.port, a.bridge)
	if err := os.WriteFile(a.envFile, []byte(vars), 0o644); err != nil {
		t.Fatal(err)
	}
	return a
}

func (a *app) load(t *testing.T) *compose.Project {
	t.Helper()
	p, err := compose.Load(context.Background(), compose.LoadOptions{
		Files: []string{"testdata/app/compose.yaml"}, ProjectName: a.name, EnvFiles: []string{a.envFile},
	})
	if err != nil {
		t.Fatal(err)
	}
	return compose.New(a.e, p)
}

// get fetches url until it answers 200 with want in its body or ctx ends.
func get(ctx context.Context, t *testing.T, url, want string) string {
	t.Helper()
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = fmt.Sprintf("%d %q", resp.StatusCode, b)
			if resp.StatusCode == 200 && strings.Contains(string(b), want) {
				return string(b)
			}
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			t.Fatalf("GET %s: want %q, last answer: %s", url, want, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func TestComposeApp(t *testing.T) {
	a := newApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var events []string
	p, err := compose.Load(ctx, compose.LoadOptions{
		Files: []string{"testdata/app/compose.yaml"}, ProjectName: a.name, EnvFiles: []string{a.envFile},
	})
	if err != nil {
		t.Fatal(err)
	}
	app := compose.New(a.e, p, compose.WithProgress(func(ev compose.Event) {
		events = append(events, ev.Kind+" "+ev.Name+" "+ev.Status)
	}))
	t.Cleanup(func() { _ = app.Down(context.Background(), compose.DownOptions{Volumes: true}) })

	if err := app.Up(ctx, compose.UpOptions{Build: true}); err != nil {
		t.Fatalf("up: %v\nevents: %q", err, events)
	}
	web, worker := a.name+"-web-1", a.name+"-worker-1"
	for _, want := range []string{
		"Network " + a.name + "_back Created", "Volume " + a.name + "_data Created",
		"Image " + a.name + "-worker Built", "Container " + worker + " Started",
		"Container " + worker + " Healthy", "Container " + web + " Started",
	} {
		if !slices.Contains(events, want) {
			t.Errorf("up events lack %q: %q", want, events)
		}
	}
	// The worker started first and was healthy before web was created.
	if i, j := slices.Index(events, "Container "+worker+" Healthy"), slices.Index(events, "Container "+web+" Created"); i < 0 || j < i {
		t.Errorf("web created before worker was healthy: %q", events)
	}

	// Data went through the shared volume from the worker (env_file) to web's port.
	url := fmt.Sprintf("http://127.0.0.1:%d/", a.port)
	if body := get(ctx, t, url, "hello-from-env-file #0"); body != "hello-from-env-file #0\n" {
		t.Errorf("GET %s = %q", url, body)
	}

	cs, err := app.Containers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].Name != web || cs[1].Name != worker {
		t.Fatalf("containers: %+v", cs)
	}
	for _, c := range cs {
		if c.State.Status != skiff.StatusRunning {
			t.Errorf("%s is %s", c.Name, c.State.Status)
		}
		l := c.State.Labels
		if l[compose.LabelProject] != a.name || l[compose.LabelService] != c.Service || l[compose.LabelNumber] != "1" {
			t.Errorf("%s labels: %v", c.Name, l)
		}
	}
	if l := cs[0].State.Labels; l["app.role"] != "frontend" {
		t.Errorf("web lacks its own label: %v", l)
	}
	if len(cs[0].Ports) != 1 || int(cs[0].Ports[0].HostPort) != a.port || cs[0].Ports[0].ContainerPort != 80 {
		t.Errorf("web ports: %v", cs[0].Ports)
	}
	if h := cs[1].State.Health; h == nil || h.Status != skiff.HealthHealthy {
		t.Errorf("worker health: %+v", h)
	}
	if hc := cs[1].Container.Config().Healthcheck; hc == nil || hc.Interval != 100*time.Millisecond || hc.Retries != 100 {
		t.Errorf("worker healthcheck: %+v", hc)
	}
	if rp := cs[1].Container.Config().RestartPolicy; rp.Name != skiff.RestartOnFailure || rp.MaximumRetryCount != 5 {
		t.Errorf("worker restart policy: %+v", rp)
	}

	// Names on the user network: service name, container name and alias.
	var out strings.Builder
	for _, host := range []string{"web", "www", web} {
		out.Reset()
		code, err := app.Exec(ctx, "worker", 1, skiff.ExecConfig{
			Cmd: []string{"wget", "-qO-", "http://" + host + "/"}, Stdout: &out, Stderr: &out,
		})
		if err != nil || code != 0 || out.String() != "hello-from-env-file #0\n" {
			t.Errorf("worker: wget http://%s/: exit %d, %v, %q", host, code, err, out.String())
		}
	}
	if _, err := app.Exec(ctx, "nope", 1, skiff.ExecConfig{Cmd: []string{"true"}}); !errors.Is(err, compose.ErrNoContainer) {
		t.Errorf("exec in a missing service: %v", err)
	}

	// The restart policy: the worker fails, runs again and rewrites the page; logs -f
	// of the worker ends with its run.
	followed := &syncBuffer{first: make(chan struct{})}
	followDone := make(chan error, 1)
	go func() {
		followDone <- app.Logs(ctx, followed, compose.LogsOptions{Services: []string{"worker"}, Log: skiff.LogOptions{Follow: true, Tail: 1}})
	}()
	select { // the last line came: the follow is under way
	case <-followed.first:
	case err := <-followDone:
		t.Fatalf("logs -f ended early: %v", err)
	}
	if code, err := app.Exec(ctx, "worker", 1, skiff.ExecConfig{Cmd: []string{"touch", "/srv/crash"}}); err != nil || code != 0 {
		t.Fatalf("touch /srv/crash: %d %v", code, err)
	}
	get(ctx, t, url, "hello-from-env-file #1")
	select {
	case err := <-followDone:
		if want := worker + " | worker crashing\n"; err != nil || !strings.Contains(followed.String(), want) {
			t.Errorf("logs -f: %v, output %q, want %q", err, followed.String(), want)
		}
	case <-ctx.Done():
		t.Fatal("logs -f did not end when the worker exited")
	}
	if st := cs[1].Container.State(); st.RestartCount < 1 {
		t.Errorf("worker restart count %d after a failure", st.RestartCount)
	}

	// The restart is counted before the restarted worker writes its line: await it.
	var logs strings.Builder
	for {
		logs.Reset()
		if err := app.Logs(ctx, &logs, compose.LogsOptions{Services: []string{"worker"}, Log: skiff.LogOptions{Tail: -1}}); err != nil {
			t.Fatal(err)
		}
		if strings.Count(logs.String(), worker+" | worker ") >= 3 || ctx.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if want := worker + " | worker crashing\n"; !strings.Contains(logs.String(), want) ||
		strings.Count(logs.String(), worker+" | worker ") != 3 {
		t.Errorf("logs lack %q (and two starts):\n%s", want, logs.String())
	}

	// Scale up and down: replica 2 appears, then goes.
	if err := app.Up(ctx, compose.UpOptions{Scale: map[string]int{"worker": 2}}); err != nil {
		t.Fatal(err)
	}
	if cs, _ := app.Containers(ctx, "worker"); len(cs) != 2 || cs[1].Name != a.name+"-worker-2" || cs[1].State.Status != skiff.StatusRunning {
		t.Errorf("scaled to 2: %+v", cs)
	}
	if err := app.Up(ctx, compose.UpOptions{}); err != nil {
		t.Fatal(err)
	}
	before, _ := app.Containers(ctx)
	if len(before) != 2 {
		t.Fatalf("scaled back to 1: %d containers", len(before))
	}
	// Up again changes nothing; a changed service is recreated, the other kept.
	if err := app.Up(ctx, compose.UpOptions{}); err != nil {
		t.Fatal(err)
	}
	web1 := app.Spec().Services["web"]
	web1.Labels = map[string]string{"app.role": "frontend", "app.rev": "2"}
	app.Spec().Services["web"] = web1
	if err := app.Up(ctx, compose.UpOptions{}); err != nil {
		t.Fatal(err)
	}
	after, _ := app.Containers(ctx)
	if len(after) != 2 || after[0].Container.ID() == before[0].Container.ID() || after[1].Container.ID() != before[1].Container.ID() ||
		after[0].State.Labels["app.rev"] != "2" {
		t.Errorf("after a change of web: web %s→%s, worker %s→%s", before[0].Container.ID(), after[0].Container.ID(),
			before[1].Container.ID(), after[1].Container.ID())
	}
	get(ctx, t, url, "hello-from-env-file")

	events = nil
	if err := app.Down(ctx, compose.DownOptions{Volumes: true}); err != nil {
		t.Fatalf("down: %v", err)
	}
	checkGone(ctx, t, a)
}

// checkGone fails unless the app left no container, network, volume or bridge.
func checkGone(ctx context.Context, t *testing.T, a *app) {
	t.Helper()
	if cs, _ := a.e.Containers(ctx); len(cs) != 0 {
		t.Errorf("%d containers left after down", len(cs))
	}
	nets, _ := a.e.Networks().Networks(ctx)
	for _, n := range nets {
		if strings.HasPrefix(n.Name, a.name) {
			t.Errorf("network %s left after down", n.Name)
		}
	}
	if vols, _ := a.e.Volumes(ctx); len(vols) != 0 {
		t.Errorf("%d volumes left after down -v", len(vols))
	}
	if _, err := os.Stat("/sys/class/net/" + a.bridge); err == nil {
		t.Errorf("bridge %s left after down", a.bridge)
	}
}

// syncBuffer collects writes under a lock and closes first at the first one.
type syncBuffer struct {
	mu    sync.Mutex
	b     strings.Builder
	first chan struct{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() == 0 {
		close(s.first)
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
