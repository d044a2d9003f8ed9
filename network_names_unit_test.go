package skiff

import (
	"errors"
	"strings"
	"testing"
)

// TestNetPlanNames: ExtraHosts take docker's forms (name:ip, name=ip, IPv6,
// host-gateway), DNS settings replace resolv.conf's lines, and bad entries are
// refused naming the field and entry.
func TestNetPlanNames(t *testing.T) {
	p := &netPlan{mode: NetworkBridge}
	err := p.setNames(ContainerConfig{
		ExtraHosts: []string{"db:10.1.2.3", "eq=10.1.2.4", "six:::1", "br:[fd00::1]", "gw:host-gateway"},
		DNS:        []string{"10.0.0.53"}, DNSSearch: []string{"a.test", "b.test"}, DNSOptions: []string{"ndots:2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"db 10.1.2.3", "eq 10.1.2.4", "six ::1", "br fd00::1", "gw invalid IP"}
	for i, h := range p.extraHosts {
		if got := h.Names[0] + " " + h.IP.String(); got != want[i] {
			t.Errorf("extraHosts[%d] = %q, want %q", i, got, want[i])
		}
	}
	host := "# generated\nnameserver 10.9.9.9\nsearch corp.test\noptions rotate\nsortlist 10.0.0.0\n"
	got := string(p.resolvWith([]byte(host)))
	wantResolv := "# generated\nsortlist 10.0.0.0\nnameserver 10.0.0.53\nsearch a.test b.test\noptions ndots:2\n"
	if got != wantResolv {
		t.Errorf("resolv.conf =\n%s\nwant\n%s", got, wantResolv)
	}
	if got := string((&netPlan{}).resolvWith([]byte(host))); got != host {
		t.Errorf("without DNS settings resolv.conf changed:\n%s", got)
	}
	for _, bad := range []ContainerConfig{
		{ExtraHosts: []string{"nocolon"}},
		{ExtraHosts: []string{"name:not-an-ip"}},
		{ExtraHosts: []string{":10.0.0.1"}},
		{DNS: []string{"dns.example"}},
	} {
		err := (&netPlan{mode: NetworkBridge}).setNames(bad)
		if !errors.Is(err, ErrInvalidConfig) || (!strings.Contains(err.Error(), "ExtraHosts[0]") && !strings.Contains(err.Error(), "DNS[0]")) {
			t.Errorf("%+v: %v, want ErrInvalidConfig naming the entry", bad, err)
		}
	}
	if err := (&netPlan{mode: NetworkNone}).setNames(ContainerConfig{ExtraHosts: []string{"gw:host-gateway"}}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("host-gateway without a network: %v", err)
	}
}
