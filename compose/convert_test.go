package compose_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/compose"
	"github.com/skiffrt/skiff/errdefs"
	"github.com/skiffrt/skiff/netbridge"
)

// loadString loads a Compose file given as text, as project "demo".
func loadString(t *testing.T, yaml string) (*compose.Project, error) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := compose.Load(context.Background(), compose.LoadOptions{Files: []string{file}, ProjectName: "demo"})
	if err != nil {
		return nil, err
	}
	return compose.New(nil, p), nil
}

func TestContainerConfig(t *testing.T) {
	p, err := loadString(t, `
services:
  web:
    image: busybox
    command: httpd -f -p 80
    environment: [A=1, B]
    ports: ["127.0.0.1:8080:80", "9090:90/udp", "70"]
    volumes: [data:/srv, /host:/in:ro, {type: tmpfs, target: /t}]
    networks:
      front: {aliases: [www]}
      back: {priority: 10}
    restart: on-failure:3
    mem_limit: 64m
    cpus: 0.5
    pids_limit: 32
    container_name: the-web
    labels: {x: y}
  job:
    build: .
    network_mode: none
    deploy: {restart_policy: {condition: any}}
    healthcheck: {test: "test -e /ok", interval: 2s, retries: 7}
networks: {front: {}, back: {}}
volumes: {data: {}}
`)
	if err != nil {
		t.Fatal(err)
	}
	web, err := compose.ContainerConfig(p.Spec(), p.Spec().Services["web"], 1)
	if err != nil {
		t.Fatal(err)
	}
	want := skiff.ContainerConfig{
		Image: "busybox", Name: "the-web", Cmd: []string{"httpd", "-f", "-p", "80"}, Env: []string{"A=1"},
		Network: "demo_back", Aliases: []string{"the-web", "web"}, Detach: true,
		Ports: []netbridge.PortMapping{
			{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 8080, ContainerPort: 80, Proto: "tcp"},
			{HostPort: 9090, ContainerPort: 90, Proto: "udp"},
			{ContainerPort: 70, Proto: "tcp"},
		},
		Mounts: []skiff.Mount{
			{Type: skiff.MountVolume, Source: "demo_data", Target: "/srv"},
			{Type: skiff.MountBind, Source: "/host", Target: "/in", ReadOnly: true},
			{Type: skiff.MountTmpfs, Target: "/t"},
		},
		RestartPolicy: skiff.RestartPolicy{Name: skiff.RestartOnFailure, MaximumRetryCount: 3},
		Resources:     skiff.Resources{MemoryLimit: 64 << 20, PidsLimit: 32, CPUQuota: 50000, CPUPeriod: 100000},
	}
	got := web
	got.Labels = nil
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Errorf("web config:\n got %+v\nwant %+v", got, want)
	}
	l := web.Labels
	if l["x"] != "y" || l[compose.LabelProject] != "demo" || l[compose.LabelService] != "web" || l[compose.LabelNumber] != "1" || l[compose.LabelOneoff] != "False" {
		t.Errorf("web labels: %v", l)
	}

	job, err := compose.ContainerConfig(p.Spec(), p.Spec().Services["job"], 2)
	if err != nil {
		t.Fatal(err)
	}
	if job.Name != "demo-job-2" || job.Image != "demo-job" || job.Network != skiff.NetworkNone ||
		job.RestartPolicy.Name != skiff.RestartAlways || len(job.Aliases) != 0 ||
		fmt.Sprint(job.Healthcheck) != fmt.Sprint(&skiff.Healthcheck{Test: []string{"CMD-SHELL", "test -e /ok"}, Interval: 2 * time.Second, Retries: 7}) {
		t.Errorf("job config: %+v", job)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"syntax", "services: [", "yaml"},
		{"unknown key", "services: {a: {image: x, bogus: 1}}", "bogus"},
		{"undefined network", "services: {a: {image: x, networks: [nope]}}", "nope"},
		{"cycle", "services: {a: {image: x, depends_on: [b]}, b: {image: x, depends_on: [a]}}", "cycle"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadString(t, tc.yaml)
			if !errors.Is(err, compose.ErrInvalidProject) || !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrInvalidProject mentioning %q", err, tc.want)
			}
		})
	}
	p, err := loadString(t, "services: {a: {image: x, restart: sometimes}, b: {image: x, network_mode: 'container:a'}}")
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range []string{"a", "b"} {
		if _, err := compose.ContainerConfig(p.Spec(), p.Spec().Services[svc], 1); !errors.Is(err, compose.ErrInvalidProject) {
			t.Errorf("service %s: err = %v, want ErrInvalidProject", svc, err)
		}
	}
}

func ExampleLoad() {
	p, err := compose.Load(context.Background(), compose.LoadOptions{
		Files: []string{"testdata/app/compose.yaml"}, ProjectName: "demo", EnvFiles: []string{"testdata/example.env"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		fmt.Println(compose.ContainerName(p.Name, s, 1), compose.ImageName(p.Name, s), s.Restart)
	}
	fmt.Println(*p.Services["worker"].Environment["GREETING"])
	// Output:
	// demo-web-1 127.0.0.1:5000/busybox:latest unless-stopped
	// demo-worker-1 demo-worker on-failure:5
	// hello-from-env-file
}
