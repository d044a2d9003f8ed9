package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skiffrt/skiff/internal/testutil"
)

// apiJSON calls the API with a JSON body and decodes the JSON answer into out (when
// not nil); it returns the status.
func (e *env) apiJSON(method, path string, body any, out any) int {
	e.t.Helper()
	var rd *strings.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = strings.NewReader(string(b))
	} else {
		rd = strings.NewReader("")
	}
	resp, data := e.api(method, path, rd)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			e.t.Fatalf("%s %s: %v in %s", method, path, err, data)
		}
	}
	return resp.StatusCode
}

// TestDockerNetworks: network create with labels, list filters, inspect entries,
// IPv6 and bad names refused with 400, connect and disconnect by ID (a created
// container too), EndpointsConfig attaching every listed network with its aliases,
// and prune.
func TestDockerNetworks(t *testing.T) {
	e := newEnv(t)
	img := e.busybox()
	start := time.Now().Unix()

	frontID := strings.TrimSpace(e.ok("network", "create", "--label", "tier=front", "--label", "team=a", "front"))
	backID := strings.TrimSpace(e.ok("network", "create", "--label", "tier=back", "back"))
	e.ok("network", "create", "--internal", "spare")

	t.Run("filters", func(t *testing.T) {
		for _, tc := range []struct {
			filter string
			want   []string
		}{
			{"name=fro", []string{"front"}},
			{"id=" + backID[:10], []string{"back"}},
			{"label=tier", []string{"back", "front"}},
			{"label=tier=front", []string{"front"}},
			{"driver=bridge", []string{"back", "bridge", "front", "spare"}},
			{"driver=host", []string{"host"}},
			{"type=custom", []string{"back", "front", "spare"}},
			{"dangling=true", []string{"back", "front", "spare"}},
		} {
			out := e.ok("network", "ls", "--filter", tc.filter, "--format", "{{.Name}}")
			got := strings.Fields(out)
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("network ls --filter %s: %v, want %v", tc.filter, got, tc.want)
			}
		}
		if code := e.apiJSON("GET", "/networks?filters="+url.QueryEscape(`{"bogus":{"x":true}}`), nil, nil); code != http.StatusBadRequest {
			t.Errorf("unknown filter: status %d, want 400", code)
		}
		if got := e.ok("network", "inspect", "-f", "{{.Internal}} {{.Scope}}", "spare"); strings.TrimSpace(got) != "true local" {
			t.Errorf("spare (created --internal): Internal Scope = %s", got)
		}
		labels := e.ok("network", "inspect", "-f", "{{json .Labels}}", frontID[:12])
		if strings.TrimSpace(labels) != `{"team":"a","tier":"front"}` {
			t.Errorf("labels of front: %s", labels)
		}
	})

	t.Run("refused", func(t *testing.T) {
		for _, body := range []map[string]any{
			{"Name": "v6", "IPAM": map[string]any{"Config": []map[string]string{{"Subnet": "fd00:1::/64"}}}},
			{"Name": "v6b", "EnableIPv6": true},
			{"Name": "bad/name"},
			{"Name": "-bad"},
			{"Name": ""},
			{"Name": "nosub", "IPAM": map[string]any{"Config": []map[string]string{{"Subnet": "10.1.2.3/33"}}}},
		} {
			if code := e.apiJSON("POST", "/networks/create", body, nil); code != http.StatusBadRequest {
				t.Errorf("create %v: status %d, want 400", body, code)
			}
		}
		if code := e.apiJSON("POST", "/networks/create", map[string]string{"Name": "front"}, nil); code != http.StatusConflict {
			t.Errorf("create front again: status %d, want 409", code)
		}
		if code := e.apiJSON("GET", "/networks/nonexistent", nil, nil); code != http.StatusNotFound {
			t.Errorf("inspect an unknown network: status %d, want 404", code)
		}
		for _, n := range []string{"bridge", "host", "none"} {
			if code := e.apiJSON("DELETE", "/networks/"+n, nil, nil); code != http.StatusForbidden {
				t.Errorf("remove %s: status %d, want 403", n, code)
			}
		}
	})

	t.Run("connect", func(t *testing.T) {
		// A created container, connected by network ID, runs attached.
		e.ok("create", "--name", "api", "--network", "back", img, "sh", "-c",
			"mkdir -p /www && echo hi-api > /www/index.html && exec httpd -f -p 80 -h /www")
		e.ok("network", "connect", "--alias", "svc", frontID, "api")
		e.ok("start", "api")
		out := e.ok("run", "--rm", "--network", "front", img, "sh", "-c",
			"for i in $(seq 50); do wget -q -O - http://svc/index.html && exit 0; sleep 0.1; done; exit 1")
		if out != "hi-api\n" {
			t.Errorf("wget http://svc/ through the connected network: %q", out)
		}
		var inspect []struct {
			NetworkSettings struct {
				Networks map[string]struct {
					NetworkID, EndpointID, IPAddress string
					Aliases                          []string
					IPAMConfig                       any
				}
			}
		}
		if err := json.Unmarshal([]byte(e.ok("inspect", "api")), &inspect); err != nil || len(inspect) != 1 {
			t.Fatalf("inspect api: %v", err)
		}
		nets := inspect[0].NetworkSettings.Networks
		if nets["front"].NetworkID != frontID || nets["back"].NetworkID != backID ||
			len(nets["front"].EndpointID) != 64 || nets["front"].EndpointID == nets["back"].EndpointID ||
			!slices.Contains(nets["front"].Aliases, "svc") {
			t.Errorf("inspect networks: %+v", nets)
		}
		var list []struct {
			Names           []string
			NetworkSettings struct {
				Networks map[string]struct{ NetworkID string }
			}
		}
		if code := e.apiJSON("GET", "/containers/json", nil, &list); code != http.StatusOK || len(list) != 1 ||
			list[0].NetworkSettings.Networks["front"].NetworkID != frontID || list[0].NetworkSettings.Networks["back"].NetworkID != backID {
			t.Errorf("container list networks: %d %+v", code, list)
		}
		for _, f := range []string{"network=front", "network=" + backID[:12]} {
			if got := e.ok("ps", "--filter", f, "--format", "{{.Names}}"); strings.TrimSpace(got) != "api" {
				t.Errorf("ps --filter %s: %q, want api", f, got)
			}
		}
		if got := e.ok("ps", "-q", "--filter", "network=spare"); strings.TrimSpace(got) != "" {
			t.Errorf("ps --filter network=spare: %q, want none", got)
		}
		raw := e.ok("inspect", "-f", "{{json .NetworkSettings.Networks.front}}", "api")
		if !strings.Contains(raw, `"IPAMConfig":null`) {
			t.Errorf("network entry lacks IPAMConfig: %s", raw)
		}
		members := e.ok("network", "inspect", "-f", "{{range $id, $c := .Containers}}{{$c.Name}} {{$c.EndpointID}}{{end}}", "front")
		if want := "api " + nets["front"].EndpointID; strings.TrimSpace(members) != want {
			t.Errorf("network inspect front containers: %q, want %q", members, want)
		}

		if _, errs, code := e.run("network", "connect", "no-such-net", "api"); code == 0 || !strings.Contains(errs, "not found") {
			t.Errorf("connect to an unknown network: exit %d, %s", code, errs)
		}
		e.ok("network", "disconnect", frontID[:12], "api")
		if out := e.ok("inspect", "-f", "{{len .NetworkSettings.Networks}}", "api"); strings.TrimSpace(out) != "1" {
			t.Errorf("networks after disconnect: %s", out)
		}
		if _, _, code := e.run("network", "rm", "back"); code == 0 {
			t.Errorf("network rm of a network in use succeeded")
		}
	})

	t.Run("addresses", func(t *testing.T) {
		// A network with its own gateway; a container connected with an address of its
		// choice, shown in IPAMConfig; the same address again is refused.
		b := time.Now().UnixNano()
		sub := fmt.Sprintf("10.%d.%d", 100+b%100, b/100%250)
		e.ok("network", "create", "--subnet", sub+".0/24", "--gateway", sub+".254", "--ip-range", sub+".64/26",
			"--aux-address", "printer="+sub+".64", "fixed")
		ipam := e.ok("network", "inspect", "-f", "{{json .IPAM}}", "fixed")
		want := `{"Driver":"default","Options":null,"Config":[{"Subnet":"` + sub + `.0/24","IPRange":"` + sub + `.64/26","Gateway":"` +
			sub + `.254","AuxiliaryAddresses":{"printer":"` + sub + `.64"}}]}`
		if strings.TrimSpace(ipam) != want {
			t.Errorf("IPAM of fixed:\n%s\nwant\n%s", ipam, want)
		}
		e.ok("run", "-d", "--name", "pinned", img, "sleep", "60")
		e.ok("network", "connect", "--ip", sub+".77", "fixed", "pinned")
		got := e.ok("inspect", "-f", "{{with .NetworkSettings.Networks.fixed}}{{.IPAddress}} {{.Gateway}} {{.IPAMConfig.IPv4Address}}{{end}}", "pinned")
		if want := sub + ".77 " + sub + ".254 " + sub + ".77"; strings.TrimSpace(got) != want {
			t.Errorf("pinned on fixed: %q, want %q", got, want)
		}
		e.ok("run", "-d", "--name", "second", img, "sleep", "60")
		if _, errs, code := e.run("network", "connect", "--ip", sub+".77", "fixed", "second"); code == 0 || !strings.Contains(errs, "address already in use") {
			t.Errorf("a second container asking for %s.77: exit %d, %s", sub, code, errs)
		}
		if out := e.ok("run", "--rm", "--network", "fixed", "--ip", sub+".78", img, "sh", "-c", "ip -4 -o addr show eth0"); !strings.Contains(out, sub+".78/24") {
			t.Errorf("run --ip %s.78: eth0 is %q", sub, out)
		}
		if _, errs, code := e.run("run", "--rm", "--network", "fixed", "--ip", sub+".77", img, "true"); code == 0 || !strings.Contains(errs, "address already in use") {
			t.Errorf("run --ip of an address in use: exit %d, %s", code, errs)
		}
		e.ok("network", "connect", "fixed", "second") // the first free address of the range, not the auxiliary one
		if got := e.ok("inspect", "-f", "{{.NetworkSettings.Networks.fixed.IPAddress}}", "second"); strings.TrimSpace(got) != sub+".65" {
			t.Errorf("second on fixed: %s, want %s.65", got, sub)
		}
		e.ok("rm", "-f", "pinned", "second")
		e.ok("network", "rm", "fixed")
	})

	t.Run("endpoints config", func(t *testing.T) {
		// Two networks in EndpointsConfig and no NetworkMode: both are attached, with
		// their aliases, and not the default bridge (what docker-py and
		// testcontainers send).
		body := map[string]any{
			"Image": img, "Cmd": []string{"sleep", "60"},
			"NetworkingConfig": map[string]any{"EndpointsConfig": map[string]any{
				"front": map[string]any{"Aliases": []string{"f-alias"}},
				"back":  map[string]any{"Aliases": []string{"b-alias"}},
			}},
		}
		var created struct{ Id string }
		if code := e.apiJSON("POST", "/containers/create?name=multi", body, &created); code != http.StatusCreated {
			t.Fatalf("create with EndpointsConfig: status %d", code)
		}
		e.ok("start", "multi")
		var nets map[string]struct{ Aliases []string }
		raw := e.ok("inspect", "-f", "{{json .NetworkSettings.Networks}}", "multi")
		if err := json.Unmarshal([]byte(raw), &nets); err != nil {
			t.Fatal(err)
		}
		if len(nets) != 2 || !slices.Contains(nets["front"].Aliases, "f-alias") || !slices.Contains(nets["back"].Aliases, "b-alias") {
			t.Errorf("networks of a container created with two EndpointsConfig entries: %s", raw)
		}
		for _, tc := range []struct{ net, name string }{{"front", "f-alias"}, {"back", "b-alias"}} {
			if _, errs, code := e.run("run", "--rm", "--network", tc.net, img, "ping", "-c", "1", "-W", "2", tc.name); code != 0 {
				t.Errorf("ping %s on %s: exit %d, %s", tc.name, tc.net, code, errs)
			}
		}
		e.ok("rm", "-f", "multi")
	})

	t.Run("published port", func(t *testing.T) {
		// The reported case: a port on 127.0.0.1 answers from the host.
		port := testutil.FreePort(t)
		e.ok("run", "-d", "--name", "lo", "-p", fmt.Sprintf("127.0.0.1:%d:80", port), img, "sh", "-c",
			"mkdir -p /www && echo hi-lo > /www/index.html && exec httpd -f -p 80 -h /www")
		if got := getWithRetry(t, fmt.Sprintf("http://127.0.0.1:%d/index.html", port)); got != "hi-lo\n" {
			t.Errorf("GET 127.0.0.1:%d: %q", port, got)
		}
		// A second container of the port is created but fails to start, in Docker's words.
		e.ok("create", "--name", "lo2", "-p", fmt.Sprintf("127.0.0.1:%d:80", port), img, "true")
		if _, errs, code := e.run("start", "lo2"); code == 0 || !strings.Contains(errs, "port is already allocated") {
			t.Errorf("start of a second container of port %d: exit %d, %s", port, code, errs)
		}
		e.ok("stop", "-t", "0", "lo")
		e.ok("start", "lo2")
		e.ok("rm", "-f", "lo", "lo2")
	})

	t.Run("prune", func(t *testing.T) {
		var res struct{ NetworksDeleted []string }
		if code := e.apiJSON("POST", "/networks/prune?filters="+url.QueryEscape(`{"label":["nothing"]}`), nil, &res); code != http.StatusOK || len(res.NetworksDeleted) != 0 {
			t.Errorf("prune with a label no network has: %d %v", code, res.NetworksDeleted)
		}
		if got := e.ok("network", "ls", "-q", "--filter", "dangling=true"); len(strings.Fields(got)) != 2 {
			t.Errorf("dangling networks before prune: %q, want front and spare", got)
		}
		res.NetworksDeleted = nil
		if code := e.apiJSON("POST", "/networks/prune", nil, &res); code != http.StatusOK {
			t.Fatalf("prune: status %d", code)
		}
		// back is used by api; front and spare are not; bridge is never pruned.
		if !slices.Equal(res.NetworksDeleted, []string{"front", "spare"}) {
			t.Errorf("pruned %v, want [front spare]", res.NetworksDeleted)
		}
		out := e.ok("events", "--since", fmt.Sprint(start), "--until", fmt.Sprint(time.Now().Unix()+1),
			"--filter", "type=network", "--filter", "event=destroy", "--format", "{{.Actor.Attributes.name}}")
		destroyed := strings.Fields(out)
		slices.Sort(destroyed)
		if !slices.Equal(destroyed, []string{"fixed", "front", "spare"}) {
			t.Errorf("network destroy events: %v, want fixed, front, spare", destroyed)
		}
	})
}

// getWithRetry GETs u until it answers (the server in the container may not listen yet).
func getWithRetry(t *testing.T, u string) string {
	t.Helper()
	var last error
	for range 50 {
		resp, err := http.Get(u)
		if err == nil {
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil {
				return string(b)
			}
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("GET %s: %v", u, last)
	return ""
}
