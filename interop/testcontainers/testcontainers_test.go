// Package testcontainers drives skiffd with testcontainers-go, as a Go test suite
// that uses Docker would: containers with wait strategies, mapped ports, exec, files
// copied in and out, networks with aliases, images built from a Dockerfile, and the
// stop/start/terminate lifecycle. Images come from a registry on 127.0.0.1.
package testcontainers

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tc "github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/skiffrt/skiff/interop/harness"
)

func TestMain(m *testing.M) {
	harness.Init()
	// The reaper (Ryuk) is an image from Docker Hub; each test terminates its own.
	os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	os.Exit(m.Run())
}

// httpd serves /www/index.html on port 80 of a busybox container.
func httpdRequest(img, body string) tc.ContainerRequest {
	return tc.ContainerRequest{
		Image:        img,
		ExposedPorts: []string{"80/tcp"},
		Cmd:          []string{"sh", "-c", serve(body)},
		WaitingFor:   wait.ForHTTP("/").WithPort("80/tcp").WithStartupTimeout(30 * time.Second),
	}
}

// serve is a shell command serving body on port 80 that ends at once on SIGTERM (a
// PID 1 without a handler ignores it, and each stop would wait its whole timeout).
func serve(body string) string {
	return "mkdir -p /www && echo " + body + " > /www/index.html && trap 'exit 0' TERM; httpd -f -p 80 -h /www & wait"
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestTestcontainers(t *testing.T) {
	env := harness.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	t.Run("GenericContainer wait MappedPort Endpoint", func(t *testing.T) {
		c, err := tc.GenericContainer(ctx, tc.GenericContainerRequest{ContainerRequest: httpdRequest(env.Busybox, "generic"), Started: true})
		tc.CleanupContainer(t, c)
		if err != nil {
			t.Fatal(err)
		}
		port, err := c.MappedPort(ctx, "80/tcp")
		if err != nil {
			t.Fatal(err)
		}
		host, err := c.Host(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if body := get(t, fmt.Sprintf("http://%s:%s/", host, port.Port())); body != "generic\n" {
			t.Errorf("GET through the mapped port = %q", body)
		}
		ep, err := c.PortEndpoint(ctx, "80/tcp", "http")
		if err != nil || get(t, ep+"/") != "generic\n" {
			t.Errorf("PortEndpoint %s: %v", ep, err)
		}
	})

	t.Run("Exec and wait for log", func(t *testing.T) {
		c, err := tc.Run(ctx, env.Busybox, tc.WithCmd("sh", "-c", "echo ready; trap 'exit 0' TERM; sleep 300 & wait"),
			tc.WithWaitStrategy(wait.ForLog("ready")))
		tc.CleanupContainer(t, c)
		if err != nil {
			t.Fatal(err)
		}
		code, out, err := c.Exec(ctx, []string{"sh", "-c", "echo out; echo err >&2; exit 3"})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(out)
		if code != 3 || !bytes.Contains(b, []byte("out")) || !bytes.Contains(b, []byte("err")) {
			t.Errorf("exec: code %d, output %q", code, b)
		}
	})

	t.Run("files before start and copy in and out", func(t *testing.T) {
		req := tc.ContainerRequest{
			Image:      env.Busybox,
			Cmd:        []string{"sh", "-c", "cat /etc/app/conf.txt; trap 'exit 0' TERM; sleep 300 & wait"},
			Files:      []tc.ContainerFile{{Reader: strings.NewReader("configured\n"), ContainerFilePath: "/etc/app/conf.txt", FileMode: 0o644}},
			WaitingFor: wait.ForLog("configured"),
		}
		c, err := tc.GenericContainer(ctx, tc.GenericContainerRequest{ContainerRequest: req, Started: true})
		tc.CleanupContainer(t, c)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.CopyToContainer(ctx, []byte("copied in\n"), "/tmp/in.txt", 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, err := c.Exec(ctx, []string{"sh", "-c", "stat -c %a /tmp/in.txt; cat /tmp/in.txt"})
		if b, _ := io.ReadAll(out); err != nil || code != 0 || !strings.Contains(string(b), "600") || !strings.Contains(string(b), "copied in") {
			t.Errorf("after CopyToContainer: code %d %q %v", code, b, err)
		}
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "a.txt"), []byte("dir file\n"), 0o644)
		// The target names the directory itself; it lands in the target's parent.
		if err := c.CopyDirToContainer(ctx, dir, "/tmp/"+filepath.Base(dir), 0o755); err != nil {
			t.Fatal(err)
		}
		rc, err := c.CopyFileFromContainer(ctx, "/tmp/"+filepath.Base(dir)+"/a.txt")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if string(b) != "dir file\n" {
			t.Errorf("CopyFileFromContainer = %q", b)
		}
		if _, err := c.CopyFileFromContainer(ctx, "/no/such/file"); err == nil {
			t.Error("CopyFileFromContainer of a missing file succeeded")
		}
	})

	t.Run("network with aliases", func(t *testing.T) {
		nw, err := network.New(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tc.CleanupNetwork(t, nw)
		req := httpdRequest(env.Busybox, "by-alias")
		server, err := tc.GenericContainer(ctx, tc.GenericContainerRequest{ContainerRequest: req, Started: true})
		tc.CleanupContainer(t, server)
		if err == nil {
			err = server.Stop(ctx, nil) // not on the network yet: attach it with an alias, then start again
		}
		if err != nil {
			t.Fatal(err)
		}
		c, err := tc.Run(ctx, env.Busybox, network.WithNetwork([]string{"web"}, nw),
			tc.WithCmd("sh", "-c", serve("by-alias")),
			tc.WithExposedPorts("80/tcp"), tc.WithWaitStrategy(wait.ForListeningPort("80/tcp")))
		tc.CleanupContainer(t, c)
		if err != nil {
			t.Fatal(err)
		}
		aliases, err := c.NetworkAliases(ctx)
		if err != nil || !strings.Contains(fmt.Sprint(aliases[nw.Name]), "web") {
			t.Errorf("NetworkAliases = %v, %v", aliases, err)
		}
		client, err := tc.Run(ctx, env.Busybox, network.WithNetwork(nil, nw), tc.WithCmd("sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"))
		tc.CleanupContainer(t, client)
		if err != nil {
			t.Fatal(err)
		}
		code, out, err := client.Exec(ctx, []string{"wget", "-q", "-O", "-", "http://web/"})
		if b, _ := io.ReadAll(out); err != nil || code != 0 || !strings.Contains(string(b), "by-alias") {
			t.Errorf("wget http://web/ from a neighbour: code %d %q %v", code, b, err)
		}
	})

	t.Run("FromDockerfile", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+env.Busybox+"\nARG GREETING=hello\nCOPY msg.txt /msg.txt\nRUN echo $GREETING >> /msg.txt\nCMD [\"cat\", \"/msg.txt\"]\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "msg.txt"), []byte("from context\n"), 0o644)
		greeting := "built"
		c, err := tc.GenericContainer(ctx, tc.GenericContainerRequest{ContainerRequest: tc.ContainerRequest{
			FromDockerfile: tc.FromDockerfile{Context: dir, BuildArgs: map[string]*string{"GREETING": &greeting}},
			WaitingFor:     wait.ForExit(),
		}, Started: true})
		tc.CleanupContainer(t, c)
		if err != nil {
			t.Fatal(err)
		}
		logs, err := c.Logs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(logs)
		if !strings.Contains(string(b), "from context\nbuilt\n") {
			t.Errorf("logs of the built image = %q", b)
		}
	})

	t.Run("Stop Start Terminate", func(t *testing.T) {
		c, err := tc.GenericContainer(ctx, tc.GenericContainerRequest{ContainerRequest: httpdRequest(env.Busybox, "again"), Started: true})
		if err != nil {
			tc.CleanupContainer(t, c)
			t.Fatal(err)
		}
		timeout := 2 * time.Second
		if err := c.Stop(ctx, &timeout); err != nil {
			t.Fatal(err)
		}
		if st, err := c.State(ctx); err != nil || st.Running {
			t.Fatalf("after Stop: %+v %v", st, err)
		}
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		port, err := c.MappedPort(ctx, "80/tcp")
		if err != nil {
			t.Fatal(err)
		}
		if body := get(t, "http://127.0.0.1:"+port.Port()+"/"); body != "again\n" {
			t.Errorf("GET after restart = %q", body)
		}
		id := c.GetContainerID()
		if err := c.Terminate(ctx); err != nil {
			t.Fatal(err)
		}
		if out, err := osexec.Command("docker", "inspect", id).CombinedOutput(); err == nil {
			t.Errorf("container %s still there after Terminate: %s", id, out)
		}
	})
}
