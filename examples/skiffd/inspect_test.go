package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestInspectMountsAndHostConfig: inspect lists the container's mounts (bind, named
// and anonymous volume, tmpfs) with Docker's fields, echoes the HostConfig the
// client sent (fields skiffd does not act on included), shows the limits as docker
// update changed them, and the links of the create request.
func TestInspectMountsAndHostConfig(t *testing.T) {
	e := newEnv(t)
	img := e.busybox()
	bind := filepath.Join(t.TempDir(), "src")
	e.ok("network", "create", "linknet")
	t.Cleanup(func() { e.run("network", "rm", "linknet") })
	e.ok("run", "-d", "--name", "other", "--network", "linknet", img, "sleep", "60")
	t.Cleanup(func() { e.run("rm", "-f", "other") })
	var created struct{ Id string }
	code := e.apiJSON("POST", "/containers/create?name=mounted", map[string]any{
		"Image": img, "Cmd": []string{"sleep", "60"}, "StopTimeout": 7,
		"HostConfig": map[string]any{
			"Binds":  []string{bind + ":/bind:ro", "named:/named", "/anon"},
			"Tmpfs":  map[string]string{"/scratch": "size=1m"},
			"Memory": 64 << 20, "PidsLimit": 50, "NetworkMode": "linknet",
			"CpusetCpus": "0", "Dns": []string{"192.0.2.1"}, "MemorySwappiness": 60, "Links": []string{"other:db"},
		},
		"NetworkingConfig": map[string]any{"EndpointsConfig": map[string]any{"linknet": map[string]any{"Links": []string{"other:db"}}}},
	}, &created)
	if code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	t.Cleanup(func() { e.run("rm", "-fv", created.Id) })
	e.ok("start", created.Id)
	e.ok("update", "--memory", "96m", "--memory-swap", "200m", created.Id)

	var in struct {
		Mounts []struct {
			Type, Source, Destination, Name, Driver, Mode, Propagation string
			RW                                                         bool
		}
		HostConfig struct {
			Memory, MemorySwap, PidsLimit int64
			CpusetCpus                    string
			Dns, Links                    []string
			MemorySwappiness              *int64
			Tmpfs                         map[string]string
			IpcMode                       string
		}
		Config          struct{ StopTimeout *int }
		NetworkSettings struct {
			Networks map[string]struct{ Links []string }
		}
	}
	e.apiJSON("GET", "/containers/mounted/json", nil, &in)
	if len(in.Mounts) != 4 {
		t.Fatalf("Mounts = %+v, want 4", in.Mounts)
	}
	m := in.Mounts
	if m[0].Type != "bind" || m[0].Source != bind || m[0].Destination != "/bind" || m[0].RW || m[0].Propagation != "rprivate" {
		t.Errorf("bind mount = %+v", m[0])
	}
	if m[1].Type != "volume" || m[1].Name != "named" || m[1].Driver != "local" || !strings.HasSuffix(m[1].Source, "/volumes/named/_data") ||
		m[1].Destination != "/named" || !m[1].RW {
		t.Errorf("named volume = %+v", m[1])
	}
	if m[2].Type != "volume" || len(m[2].Name) != 64 || !strings.HasSuffix(m[2].Source, "/volumes/"+m[2].Name+"/_data") || m[2].Destination != "/anon" {
		t.Errorf("anonymous volume = %+v", m[2])
	}
	if m[3].Type != "tmpfs" || m[3].Destination != "/scratch" {
		t.Errorf("tmpfs = %+v", m[3])
	}
	hc := in.HostConfig
	if hc.Memory != 96<<20 || hc.MemorySwap != 200<<20 || hc.PidsLimit != 50 {
		t.Errorf("limits after update: memory %d, swap %d, pids %d", hc.Memory, hc.MemorySwap, hc.PidsLimit)
	}
	if hc.CpusetCpus != "0" || strings.Join(hc.Dns, ",") != "192.0.2.1" || hc.MemorySwappiness == nil || *hc.MemorySwappiness != 60 ||
		hc.Tmpfs["/scratch"] != "size=1m" || hc.IpcMode != "private" {
		t.Errorf("HostConfig echo = %+v", hc)
	}
	if strings.Join(hc.Links, ",") != "/other:/mounted/db" {
		t.Errorf("HostConfig.Links = %q", hc.Links)
	}
	if in.Config.StopTimeout == nil || *in.Config.StopTimeout != 7 {
		t.Errorf("Config.StopTimeout = %v", in.Config.StopTimeout)
	}
	if l := in.NetworkSettings.Networks["linknet"].Links; strings.Join(l, ",") != "other:db" {
		t.Errorf("linknet Links = %q (networks %+v)", l, in.NetworkSettings.Networks)
	}
}
