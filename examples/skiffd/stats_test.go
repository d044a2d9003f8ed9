package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestAPIArchiveStatAndStatsStream: the archive routes' header and statuses, and the
// stats stream, as client libraries (docker-py, the Go client) use them.
func TestAPIArchiveStatAndStatsStream(t *testing.T) {
	e := newEnv(t)
	img := e.busybox()
	e.ok("run", "-d", "--name", "api", img, "sh", "-c", "ln -s /etc/hostname /hn; while :; do :; done")
	e.ok("exec", "api", "sh", "-c", "while [ ! -L /hn ]; do sleep 0.05; done")

	resp, _ := e.api("HEAD", "/v1.50/containers/api/archive?path=/hn", nil)
	raw := resp.Header.Get("X-Docker-Container-Path-Stat")
	data, err := base64.StdEncoding.DecodeString(raw)
	if resp.StatusCode != 200 || err != nil {
		t.Fatalf("HEAD archive: %d, header %q (%v)", resp.StatusCode, raw, err)
	}
	var st struct {
		Name       string      `json:"name"`
		Size       int64       `json:"size"`
		Mode       os.FileMode `json:"mode"`
		Mtime      time.Time   `json:"mtime"`
		LinkTarget string      `json:"linkTarget"`
	}
	if err := json.Unmarshal(data, &st); err != nil || st.Name != "hn" || st.Mode&os.ModeSymlink == 0 ||
		st.LinkTarget != "/etc/hostname" || st.Mtime.IsZero() {
		t.Errorf("path stat %s: %+v %v", data, st, err)
	}
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{"HEAD", "/containers/api/archive?path=/nope", 404},
		{"GET", "/containers/api/archive?path=/nope", 404},
		{"GET", "/containers/api/archive", 400},
		{"PUT", "/containers/api/archive?path=/etc/hostname", 400}, // not a directory
		{"GET", "/containers/nosuch/archive?path=/", 404},
		{"GET", "/containers/api/top?ps_args=--bogus", 400},
	} {
		if resp, body := e.api(c.method, c.path, bytes.NewReader(nil)); resp.StatusCode != c.status {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.path, resp.StatusCode, body, c.status)
		}
	}

	// A stream: one sample a second, each carrying the previous as precpu_stats.
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", e.sock)
	}}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://docker/v1.50/containers/api/stats", nil)
	sresp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer sresp.Body.Close()
	type cpu struct {
		CPUUsage struct {
			TotalUsage uint64 `json:"total_usage"`
		} `json:"cpu_usage"`
		SystemUsage uint64 `json:"system_cpu_usage"`
		OnlineCPUs  int    `json:"online_cpus"`
	}
	type sample struct {
		Name     string                        `json:"name"`
		Read     time.Time                     `json:"read"`
		PreRead  time.Time                     `json:"preread"`
		CPU      cpu                           `json:"cpu_stats"`
		PreCPU   cpu                           `json:"precpu_stats"`
		Memory   struct{ Usage, Limit uint64 } `json:"memory_stats"`
		Pids     struct{ Current uint64 }      `json:"pids_stats"`
		Networks map[string]struct {
			RxBytes uint64 `json:"rx_bytes"`
		} `json:"networks"`
	}
	dec := json.NewDecoder(sresp.Body)
	var s [3]sample
	for i := range s {
		if err := dec.Decode(&s[i]); err != nil {
			t.Fatalf("sample %d: %v", i, err)
		}
	}
	if s[0].Name != "/api" || s[0].CPU.OnlineCPUs < 1 || s[0].Memory.Usage == 0 || s[0].Pids.Current != 1 || s[0].Networks["eth0"].RxBytes == 0 {
		t.Errorf("first sample: %+v", s[0])
	}
	for i := 1; i < 3; i++ {
		if s[i].PreCPU != s[i-1].CPU || !s[i].PreRead.Equal(s[i-1].Read) {
			t.Errorf("sample %d: precpu %+v at %v, want the previous sample's %+v at %v", i, s[i].PreCPU, s[i].PreRead, s[i-1].CPU, s[i-1].Read)
		}
		d := s[i].Read.Sub(s[i-1].Read)
		if d < 900*time.Millisecond || d > 1500*time.Millisecond {
			t.Errorf("samples %v apart, want a second", d)
		}
		// The container spins: it gets a share of a CPU each second (a small one when
		// the machine is loaded: other test packages run meanwhile).
		if used := s[i].CPU.CPUUsage.TotalUsage - s[i-1].CPU.CPUUsage.TotalUsage; used < uint64(d)/20 {
			t.Errorf("a spinning container used %v of CPU in %v", time.Duration(used), d)
		}
	}
	if out := e.ok("stats", "--no-stream", "--format", "{{.CPUPerc}}", "api"); !strings.HasSuffix(strings.TrimSpace(out), "%") ||
		strings.HasPrefix(out, "0.00") {
		t.Errorf("docker stats CPU of a spinning container: %q", out)
	}
}
