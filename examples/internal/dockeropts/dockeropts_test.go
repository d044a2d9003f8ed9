package dockeropts

import (
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/netbridge"
)

func TestParseVolume(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want skiff.Mount
		err  string
	}{
		{in: "/data", want: skiff.Mount{Type: skiff.MountVolume, Target: "/data"}},
		{in: "cache:/data", want: skiff.Mount{Type: skiff.MountVolume, Source: "cache", Target: "/data"}},
		{in: "/srv:/data:ro", want: skiff.Mount{Type: skiff.MountBind, Source: "/srv", Target: "/data", ReadOnly: true}},
		{in: "/srv:/data:rw,rshared,z", want: skiff.Mount{Type: skiff.MountBind, Source: "/srv", Target: "/data", Propagation: "rshared"}},
		{in: "cache:/data:nocopy", want: skiff.Mount{Type: skiff.MountVolume, Source: "cache", Target: "/data"}},
		{in: "/data:ro", err: "without a source"},
		{in: "cache:data", err: "must be absolute"},
		{in: "cache:/data:rshared", err: "only for bind mounts"},
		{in: "/a:/b:bogus", err: "invalid mode"},
		{in: "/a:/b:ro:x", err: "too many colons"},
		{in: ":/b", err: "empty source"},
	} {
		got, err := ParseVolume(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), tc.in) {
				t.Errorf("ParseVolume(%q) = %+v, %v; want an error quoting it with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseVolume(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseMount(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want skiff.Mount
		err  string
	}{
		{in: "type=bind,source=/srv,target=/data,readonly", want: skiff.Mount{Type: skiff.MountBind, Source: "/srv", Target: "/data", ReadOnly: true}},
		{in: "type=bind,src=/srv,dst=/data,ro=false,bind-propagation=rslave", want: skiff.Mount{Type: skiff.MountBind, Source: "/srv", Target: "/data", Propagation: "rslave"}},
		{in: "source=v,target=/data,volume-nocopy", want: skiff.Mount{Type: skiff.MountVolume, Source: "v", Target: "/data"}},
		{in: "type=tmpfs,destination=/t,tmpfs-size=64m,tmpfs-mode=1770", want: skiff.Mount{Type: skiff.MountTmpfs, Target: "/t", TmpfsSize: 64 << 20, TmpfsMode: 0o1770}},
		{in: "type=bind,target=/data", err: "source is required"},
		{in: "type=volume,source=v", err: "target is required"},
		{in: "type=nfs,target=/x", err: "invalid mount type"},
		{in: "type=bind,source=/a,target=/b,bind-propagation=weird", err: "propagation"},
		{in: "type=volume,target=/b,colour=red", err: "unexpected key 'colour'"},
		{in: "target=/b,readonly=maybe", err: "readonly"},
	} {
		got, err := ParseMount(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseMount(%q) = %+v, %v; want an error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseMount(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestFromAPIMount(t *testing.T) {
	am := APIMount{Type: "bind", Source: "/srv", Target: "/data", ReadOnly: true}
	am.BindOptions = &struct{ Propagation string }{"rshared"}
	got, err := FromAPIMount(am)
	if want := (skiff.Mount{Type: skiff.MountBind, Source: "/srv", Target: "/data", ReadOnly: true, Propagation: "rshared"}); err != nil || got != want {
		t.Errorf("FromAPIMount = %+v, %v; want %+v", got, err, want)
	}
	if _, err := FromAPIMount(APIMount{Type: "npipe", Target: "/x"}); err == nil {
		t.Error("FromAPIMount of an npipe: no error")
	}
}

func TestBindSources(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "a", "b")
	m := skiff.Mount{Type: skiff.MountBind, Source: missing, Target: "/x"}
	if err := CheckBindSource(m); err == nil || !strings.Contains(err.Error(), "does not exist: "+missing) {
		t.Errorf("CheckBindSource of a missing source: %v", err)
	}
	if err := CreateBindSource(m); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(missing); err != nil || !fi.IsDir() {
		t.Errorf("CreateBindSource made no directory: %v", err)
	}
	if err := CheckBindSource(m); err != nil {
		t.Error(err)
	}
	if err := CreateBindSource(skiff.Mount{Type: skiff.MountVolume, Source: "rel/x", Target: "/x"}); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat("rel"); err == nil {
		t.Error("CreateBindSource made a directory for a volume")
	}
}

func TestParseTmpfs(t *testing.T) {
	got, err := ParseTmpfs("/run:size=1g,mode=700,nosuid,nodev,rw")
	if want := (skiff.Mount{Type: skiff.MountTmpfs, Target: "/run", TmpfsSize: 1 << 30, TmpfsMode: 0o700}); err != nil || got != want {
		t.Errorf("ParseTmpfs = %+v, %v; want %+v", got, err, want)
	}
	for _, bad := range []string{"run", "/run:noexec", "/run:size=lots", "/run:mode=9", "/run:uid=5"} {
		if _, err := ParseTmpfs(bad); err == nil {
			t.Errorf("ParseTmpfs(%q): no error", bad)
		}
	}
	ms, err := TmpfsMounts(map[string]string{"/b": "size=1m", "/a": ""})
	if err != nil || len(ms) != 2 || ms[0].Target != "/a" || ms[1].TmpfsSize != 1<<20 {
		t.Errorf("TmpfsMounts = %+v, %v", ms, err)
	}
}

func TestParsePublish(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	for _, tc := range []struct {
		in   string
		want []netbridge.PortMapping
	}{
		{"80", []netbridge.PortMapping{{ContainerPort: 80, Proto: "tcp"}}},
		{"8080:80", []netbridge.PortMapping{{HostPort: 8080, ContainerPort: 80, Proto: "tcp"}}},
		{"127.0.0.1:8080:80/udp", []netbridge.PortMapping{{HostIP: lo, HostPort: 8080, ContainerPort: 80, Proto: "udp"}}},
		{"127.0.0.1::80", []netbridge.PortMapping{{HostIP: lo, ContainerPort: 80, Proto: "tcp"}}},
		{"0.0.0.0:81:80", []netbridge.PortMapping{{HostPort: 81, ContainerPort: 80, Proto: "tcp"}}},
		{"9000-9001:80-81", []netbridge.PortMapping{{HostPort: 9000, ContainerPort: 80, Proto: "tcp"}, {HostPort: 9001, ContainerPort: 81, Proto: "tcp"}}},
		{"80-81", []netbridge.PortMapping{{ContainerPort: 80, Proto: "tcp"}, {ContainerPort: 81, Proto: "tcp"}}},
	} {
		got, err := ParsePublish(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParsePublish(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "x", "0", "70000", "1:2:3:4", "80/sctp", "9000-9002:80-81", "81-80", "::1:80:80", "host:80:80"} {
		if got, err := ParsePublish(bad); err == nil {
			t.Errorf("ParsePublish(%q) = %+v, want an error", bad, got)
		}
	}
}

func TestPortBindings(t *testing.T) {
	got, err := PortBindings(map[string][]PortBinding{
		"80/tcp": {{HostIp: "127.0.0.1", HostPort: "8080"}, {HostIp: "0.0.0.0", HostPort: ""}},
		"53/udp": {{HostPort: "5353-5360"}},
		"22":     {{}},
	})
	want := []netbridge.PortMapping{
		{ContainerPort: 22, Proto: "tcp"},
		{ContainerPort: 53, HostPort: 5353, Proto: "udp"},
		{ContainerPort: 80, HostPort: 8080, HostIP: netip.MustParseAddr("127.0.0.1"), Proto: "tcp"},
		{ContainerPort: 80, Proto: "tcp"},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("PortBindings = %+v, %v\nwant %+v", got, err, want)
	}
	for _, bad := range []map[string][]PortBinding{
		{"x/tcp": {{}}}, {"80/sctp": {{}}}, {"80": {{HostPort: "y"}}}, {"80": {{HostIp: "::1"}}},
	} {
		if _, err := PortBindings(bad); err == nil {
			t.Errorf("PortBindings(%v): no error", bad)
		}
	}
}

func TestResources(t *testing.T) {
	if n, err := ParseMemory("64m"); err != nil || n != 64<<20 {
		t.Errorf("ParseMemory(64m) = %d, %v", n, err)
	}
	if _, err := ParseMemory("-1"); err == nil {
		t.Error("ParseMemory(-1): no error")
	}
	if n, err := ParseMemorySwap("-1", 1<<20); err != nil || n != -1 {
		t.Errorf("ParseMemorySwap(-1) = %d, %v", n, err)
	}
	if n, err := ParseMemorySwap("2m", 1<<20); err != nil || n != 2<<20 {
		t.Errorf("ParseMemorySwap(2m) = %d, %v", n, err)
	}
	if _, err := ParseMemorySwap("2m", 0); err == nil {
		t.Error("ParseMemorySwap without a memory limit: no error")
	}
	if _, err := ParseMemorySwap("1m", 2<<20); err == nil {
		t.Error("ParseMemorySwap below the memory limit: no error")
	}
	if n, err := ParseCPUs("1.5"); err != nil || n != 1_500_000_000 {
		t.Errorf("ParseCPUs(1.5) = %d, %v", n, err)
	}
	for _, bad := range []string{"-1", "x", "0.0000000001"} {
		if _, err := ParseCPUs(bad); err == nil {
			t.Errorf("ParseCPUs(%q): no error", bad)
		}
	}
	if q, p := CPUQuota(500_000_000); q != 50000 || p != 100000 {
		t.Errorf("CPUQuota(0.5 CPU) = %d/%d", q, p)
	}
	if q, p := CPUQuota(0); q != 0 || p != 0 {
		t.Errorf("CPUQuota(0) = %d/%d", q, p)
	}
}

func TestUlimits(t *testing.T) {
	got, err := ParseUlimit("nofile=1024:2048")
	if want := (specs.POSIXRlimit{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 2048}); err != nil || got != want {
		t.Errorf("ParseUlimit = %+v, %v", got, err)
	}
	if got, err := Ulimit("core", -1, -1); err != nil || got.Soft != math.MaxUint64 || got.Hard != math.MaxUint64 {
		t.Errorf("Ulimit(core, -1, -1) = %+v, %v; want unlimited", got, err)
	}
	for _, bad := range []string{"nofile=2048:1024", "bogus=1", "nofile"} {
		if _, err := ParseUlimit(bad); err == nil {
			t.Errorf("ParseUlimit(%q): no error", bad)
		}
	}
	if _, err := Ulimit("nproc", 10, 5); err == nil {
		t.Error("Ulimit with soft > hard: no error")
	}
}

func TestEnv(t *testing.T) {
	lookup := func(k string) (string, bool) {
		v, ok := map[string]string{"HOME": "/root", "EMPTY": ""}[k]
		return v, ok
	}
	if got := ExpandEnv([]string{"A=1", "HOME", "EMPTY", "UNSET", "B="}, lookup); !reflect.DeepEqual(got, []string{"A=1", "HOME=/root", "EMPTY=", "B="}) {
		t.Errorf("ExpandEnv = %q", got)
	}
	got, err := ParseEnvFile(strings.NewReader("# comment\n\n  A=1 2\nHOME\nUNSET\nB=x=y\n"), lookup)
	if err != nil || !reflect.DeepEqual(got, []string{"A=1 2", "HOME=/root", "B=x=y"}) {
		t.Errorf("ParseEnvFile = %q, %v", got, err)
	}
	if _, err := ParseEnvFile(strings.NewReader("A=1\n=2\n"), lookup); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("ParseEnvFile with an empty name: %v", err)
	}
	path := filepath.Join(t.TempDir(), "env")
	os.WriteFile(path, []byte("X=1\n"), 0o600)
	if got, err := ReadEnvFile(path); err != nil || !reflect.DeepEqual(got, []string{"X=1"}) {
		t.Errorf("ReadEnvFile = %q, %v", got, err)
	}
	if _, err := ReadEnvFile(path + ".missing"); err == nil {
		t.Error("ReadEnvFile of a missing file: no error")
	}
}

func TestLabelsAndSecurityOpt(t *testing.T) {
	if got := ParseLabels([]string{"a=1", "b", "c=x=y"}); !reflect.DeepEqual(got, map[string]string{"a": "1", "b": "", "c": "x=y"}) {
		t.Errorf("ParseLabels = %v", got)
	}
	if ParseLabels(nil) != nil {
		t.Error("ParseLabels(nil) is not nil")
	}
	if nnp, err := ParseSecurityOpt([]string{"no-new-privileges"}); err != nil || !nnp {
		t.Errorf("ParseSecurityOpt(no-new-privileges) = %v, %v", nnp, err)
	}
	if nnp, err := ParseSecurityOpt([]string{"no-new-privileges=true", "no-new-privileges:false"}); err != nil || nnp {
		t.Errorf("ParseSecurityOpt(..., false) = %v, %v", nnp, err)
	}
	if _, err := ParseSecurityOpt([]string{"seccomp=unconfined"}); err == nil {
		t.Error("ParseSecurityOpt(seccomp=unconfined): no error")
	}
}

func TestParseRestartPolicy(t *testing.T) {
	for in, want := range map[string]RestartPolicy{
		"": {Name: "no"}, "no": {Name: "no"}, "always": {Name: "always"}, "unless-stopped": {Name: "unless-stopped"},
		"on-failure": {Name: "on-failure"}, "on-failure:3": {Name: "on-failure", MaximumRetryCount: 3},
	} {
		if got, err := ParseRestartPolicy(in); err != nil || got != want {
			t.Errorf("ParseRestartPolicy(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"sometimes", "always:3", "on-failure:x", "on-failure:-1"} {
		if _, err := ParseRestartPolicy(bad); err == nil {
			t.Errorf("ParseRestartPolicy(%q): no error", bad)
		}
	}
}

// TestPublishAll: each exposed port not yet published gets a free host port (tcp by
// default, ranges expanded, sorted), published ones are kept as given, and a bad
// exposed port is refused naming it.
func TestPublishAll(t *testing.T) {
	given := []netbridge.PortMapping{{HostPort: 8080, ContainerPort: 80, Proto: "tcp"}}
	got, err := PublishAll(given, []string{"80/tcp", "53/udp", "443", "8000-8001/TCP", "53/udp"})
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, p := range got {
		s = append(s, p.String())
	}
	want := "8080:80/tcp 0:53/udp 0:443/tcp 0:8000/tcp 0:8001/tcp"
	if strings.Join(s, " ") != want {
		t.Errorf("PublishAll = %q, want %q", strings.Join(s, " "), want)
	}
	for _, bad := range []string{"0", "80/sctp", "x/tcp", "90-80"} {
		if _, err := PublishAll(nil, []string{bad}); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("PublishAll(%q): %v, want an error naming it", bad, err)
		}
	}
}
