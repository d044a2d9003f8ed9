package skiff_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/errdefs"
	"github.com/skiffrt/skiff/netbridge"
)

// TestLegacyLinks: a container linked to a running one on the default bridge (docker
// run --link db:store) resolves it by alias, hostname and name through /etc/hosts, and
// gets Docker's link variables (ports, name, the linked container's environment) under
// its own Env; RemoveLink drops the hosts entry and the recorded link; links to
// containers that do not run, or from a container without a bridge, are refused.
func TestLegacyLinks(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	db := startBackground(t, e, skiff.ContainerConfig{Image: img, Name: "db", Detach: true, Hostname: "dbhost",
		Env:   []string{"SECRET=s3", "MULTI=a=b"},
		Ports: []netbridge.PortMapping{{ContainerPort: 6379}, {ContainerPort: 53, Proto: "udp"}},
		Cmd:   []string{"sleep", "600"}})
	eps, err := db.Endpoints(ctx)
	if err != nil || len(eps) != 1 {
		t.Fatalf("endpoints of db: %v, %v", eps, err)
	}
	ip := eps[0].IP().String()

	out, _, st := run(t, e, skiff.ContainerConfig{Image: img, Name: "web",
		Links: []skiff.Link{{Container: "db", Alias: "store"}}, Env: []string{"STORE_ENV_MULTI=mine"},
		Cmd: []string{"sh", "-c", "env | grep ^STORE_ | sort; cat /etc/hosts"}})
	if st.Code != 0 {
		t.Fatalf("linking container: exit %d\n%s", st.Code, out)
	}
	for _, want := range []string{
		"STORE_PORT=udp://" + ip + ":53\n",
		"STORE_PORT_53_UDP=udp://" + ip + ":53\n",
		"STORE_PORT_6379_TCP=tcp://" + ip + ":6379\n",
		"STORE_PORT_6379_TCP_ADDR=" + ip + "\n",
		"STORE_PORT_6379_TCP_PORT=6379\n",
		"STORE_PORT_6379_TCP_PROTO=tcp\n",
		"STORE_NAME=/web/store\n",
		"STORE_ENV_SECRET=s3\n",
		"STORE_ENV_MULTI=mine\n", // the container's own Env wins
		ip + "\tstore dbhost db\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("linking container lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "STORE_ENV_PATH=") || strings.Contains(out, "STORE_ENV_HOME=") {
		t.Errorf("PATH or HOME of the linked container passed on:\n%s", out)
	}

	web := startBackground(t, e, skiff.ContainerConfig{Image: img, Name: "web2", Detach: true,
		Links: []skiff.Link{{Container: "db", Alias: "cache"}}, Cmd: []string{"sleep", "600"}})
	if links := web.Config().Links; len(links) != 1 || links[0].Container != db.ID() || links[0].Alias != "cache" {
		t.Errorf("recorded links %+v, want db's ID as cache", links)
	}
	var hosts strings.Builder
	execIn(t, web, &hosts, "cat", "/etc/hosts")
	if !strings.Contains(hosts.String(), ip+"\tcache dbhost db\n") {
		t.Errorf("hosts of a running linking container:\n%s", hosts.String())
	}
	if err := web.RemoveLink(ctx, "cache"); err != nil {
		t.Fatal(err)
	}
	hosts.Reset()
	execIn(t, web, &hosts, "cat", "/etc/hosts")
	if strings.Contains(hosts.String(), "cache") {
		t.Errorf("hosts after RemoveLink:\n%s", hosts.String())
	}
	if links := web.Config().Links; len(links) != 0 {
		t.Errorf("recorded links after RemoveLink: %+v", links)
	}
	if err := web.RemoveLink(ctx, "cache"); !errors.Is(err, netbridge.ErrLinkNotFound) || !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("RemoveLink of a removed link: %v, want not found", err)
	}

	if err := db.Stop(ctx, 0); err != nil {
		t.Fatal(err)
	}
	_, err = e.Create(ctx, skiff.ContainerConfig{Image: img, Links: []skiff.Link{{Container: "db"}}, Cmd: []string{"true"}})
	if !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), "non running") {
		t.Errorf("link to a stopped container: %v, want a conflict", err)
	}
	_, err = e.Create(ctx, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Links: []skiff.Link{{Container: "web2"}}, Cmd: []string{"true"}})
	if !errors.Is(err, skiff.ErrInvalidConfig) {
		t.Errorf("link from a container without a network: %v, want ErrInvalidConfig", err)
	}
	_, err = e.Create(ctx, skiff.ContainerConfig{Image: img, Links: []skiff.Link{{Container: "nosuch"}}, Cmd: []string{"true"}})
	if !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("link to an unknown container: %v, want not found", err)
	}
	if l, err := skiff.ParseLink("db:store"); err != nil || l != (skiff.Link{Container: "db", Alias: "store"}) {
		t.Errorf("ParseLink(db:store) = %+v, %v", l, err)
	}
	if l, err := skiff.ParseLink("/db"); err != nil || l != (skiff.Link{Container: "db", Alias: "db"}) {
		t.Errorf("ParseLink(/db) = %+v, %v", l, err)
	}
	if _, err := skiff.ParseLink("db:"); !errors.Is(err, skiff.ErrInvalidConfig) {
		t.Errorf("ParseLink(db:) = %v", err)
	}
}
