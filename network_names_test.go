package skiff_test

import (
	"context"
	"strings"
	"testing"

	"github.com/skiffrt/skiff"
)

// TestExtraHostsAndDNS: ExtraHosts land in /etc/hosts (host-gateway as the bridge's
// gateway) and stay there when the container starts again; DNS settings replace
// resolv.conf's lines.
func TestExtraHostsAndDNS(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	out, _, st := run(t, e, skiff.ContainerConfig{Image: img, ExtraHosts: []string{"db:10.1.2.3", "gw:host-gateway"},
		DNS: []string{"10.0.0.53"}, DNSSearch: []string{"example.test"}, DNSOptions: []string{"ndots:3"},
		Cmd: []string{"sh", "-c", "cat /etc/hosts /etc/resolv.conf; ip route | grep default"}})
	if st.Code != 0 {
		t.Fatalf("exit %d\n%s", st.Code, out)
	}
	f := strings.Fields(out[strings.LastIndex(out, "default via"):])
	gw := f[2]
	for _, want := range []string{"10.1.2.3\tdb\n", gw + "\tgw\n", "nameserver 10.0.0.53\n", "search example.test\n", "options ndots:3\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("container lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "nameserver") != 1 {
		t.Errorf("the host's nameservers are kept:\n%s", out)
	}

	c := startBackground(t, e, skiff.ContainerConfig{Image: img, Name: "again", Detach: true,
		ExtraHosts: []string{"db:10.1.2.3"}, Cmd: []string{"sleep", "600"}})
	if err := c.Stop(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	p, err := c.Exec(ctx, skiff.ExecConfig{Cmd: []string{"cat", "/etc/hosts"}, Stdout: &b})
	if err != nil {
		t.Fatal(err)
	}
	if code, err := p.Wait(); code != 0 || err != nil {
		t.Fatalf("exec: %d %v", code, err)
	}
	if !strings.Contains(b.String(), "10.1.2.3\tdb\n") {
		t.Errorf("after a new start /etc/hosts lacks the extra host:\n%s", b.String())
	}
}
