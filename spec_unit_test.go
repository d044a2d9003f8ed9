package skiff

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiffrt/skiff/namespace"
)

// These tests need neither root nor busybox: buildSpec and its helpers only read the
// rootfs's /etc/passwd and /etc/group, which a test writes into a temp dir.

// fakeRootfs is a root filesystem holding only /etc/passwd and /etc/group.
func fakeRootfs(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n",
		"etc/group":  "root:x:0:\napp:x:1000:\nextra:x:2000:app\nother:x:3000:\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func envValue(env []string, key string) (string, bool) {
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v, true
		}
	}
	return "", false
}

func TestBuildSpecCommand(t *testing.T) {
	rootfs := fakeRootfs(t)
	img := v1.Config{Entrypoint: []string{"/bin/app"}, Cmd: []string{"--serve"}}
	for _, tc := range []struct {
		name string
		ic   v1.Config
		cfg  ContainerConfig
		want []string
	}{
		{"image entrypoint and cmd", img, ContainerConfig{}, []string{"/bin/app", "--serve"}},
		{"cmd replaces the image's cmd", img, ContainerConfig{Cmd: []string{"--check"}}, []string{"/bin/app", "--check"}},
		{"entrypoint drops the image's cmd", img, ContainerConfig{Entrypoint: []string{"/bin/sh"}}, []string{"/bin/sh"}},
		{"entrypoint and cmd", img, ContainerConfig{Entrypoint: []string{"/bin/sh", "-c"}, Cmd: []string{"echo hi"}}, []string{"/bin/sh", "-c", "echo hi"}},
		{"empty entrypoint clears the image's", img, ContainerConfig{Entrypoint: []string{}, Cmd: []string{"ls"}}, []string{"ls"}},
		{"cmd only image", v1.Config{Cmd: []string{"sh"}}, ContainerConfig{}, []string{"sh"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := buildSpec(tc.ic, tc.cfg, rootfs, "h")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s.Process.Args, tc.want) {
				t.Errorf("args %q, want %q", s.Process.Args, tc.want)
			}
		})
	}
	// The spec owns its args: changing them does not change the image config.
	s, err := buildSpec(img, ContainerConfig{}, rootfs, "h")
	if err != nil {
		t.Fatal(err)
	}
	s.Process.Args[0] = "changed"
	if img.Entrypoint[0] != "/bin/app" {
		t.Errorf("buildSpec shares the image's Entrypoint slice")
	}
	for _, tc := range []struct {
		name string
		ic   v1.Config
		cfg  ContainerConfig
	}{
		{"nothing at all", v1.Config{}, ContainerConfig{Image: "scratch"}},
		{"empty entrypoint, no cmd", img, ContainerConfig{Entrypoint: []string{}}},
	} {
		if _, err := buildSpec(tc.ic, tc.cfg, rootfs, "h"); !errors.Is(err, ErrNoCommand) {
			t.Errorf("%s: %v, want ErrNoCommand", tc.name, err)
		}
	}
}

func TestBuildSpecEnv(t *testing.T) {
	rootfs := fakeRootfs(t)
	for _, tc := range []struct {
		name string
		ic   []string
		cfg  []string
		user string
		want []string
	}{
		{
			name: "image env, then the hostname, then the config's; later values win in place",
			ic:   []string{"PATH=/img/bin", "A=1", "B=2"},
			cfg:  []string{"B=3", "C=4"},
			want: []string{"PATH=/img/bin", "A=1", "B=3", "HOSTNAME=box", "C=4", "HOME=/root"},
		},
		{
			name: "no PATH anywhere: the default comes first",
			cfg:  []string{"X=y"},
			want: []string{"PATH=" + namespace.DefaultPath, "HOSTNAME=box", "X=y", "HOME=/root"},
		},
		{
			name: "HOME from the user's passwd entry",
			ic:   []string{"PATH=/bin"},
			user: "app",
			want: []string{"PATH=/bin", "HOSTNAME=box", "HOME=/home/app"},
		},
		{
			name: "HOME and HOSTNAME given are kept",
			ic:   []string{"PATH=/bin", "HOME=/img"},
			cfg:  []string{"HOSTNAME=other", "HOME=/cfg"},
			want: []string{"PATH=/bin", "HOME=/cfg", "HOSTNAME=other"},
		},
		{
			name: "a user with no passwd entry gets HOME=/",
			ic:   []string{"PATH=/bin"},
			user: "4242",
			want: []string{"PATH=/bin", "HOSTNAME=box", "HOME=/"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := buildSpec(v1.Config{Env: tc.ic, Cmd: []string{"sh"}}, ContainerConfig{Env: tc.cfg, User: tc.user}, rootfs, "box")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s.Process.Env, tc.want) {
				t.Errorf("env\n got %q\nwant %q", s.Process.Env, tc.want)
			}
		})
	}
}

func TestBuildSpecUser(t *testing.T) {
	rootfs := fakeRootfs(t)
	for _, tc := range []struct {
		image, cfg string
		uid, gid   uint32
		groups     []uint32
	}{
		{"", "", 0, 0, nil},
		{"", "app", 1000, 1000, []uint32{2000}},
		{"app", "", 1000, 1000, []uint32{2000}},  // the image's USER
		{"app", "root", 0, 0, nil},               // the config's wins
		{"", "app:other", 1000, 3000, nil},       // a group given: no supplementary groups
		{"", "1000", 1000, 1000, []uint32{2000}}, // a known uid takes its entry's gid
		{"", "4242", 4242, 0, nil},               // unknown numeric uid: gid 0, as Docker
		{"", "4242:5353", 4242, 5353, nil},
	} {
		s, err := buildSpec(v1.Config{User: tc.image, Cmd: []string{"id"}}, ContainerConfig{User: tc.cfg}, rootfs, "h")
		if err != nil {
			t.Errorf("image user %q, config user %q: %v", tc.image, tc.cfg, err)
			continue
		}
		u := s.Process.User
		if u.UID != tc.uid || u.GID != tc.gid || !slices.Equal(u.AdditionalGids, tc.groups) {
			t.Errorf("image user %q, config user %q: uid %d gid %d groups %v; want %d %d %v",
				tc.image, tc.cfg, u.UID, u.GID, u.AdditionalGids, tc.uid, tc.gid, tc.groups)
		}
	}
	for _, bad := range []string{"nobody", "app:nogroup"} {
		_, err := buildSpec(v1.Config{Cmd: []string{"id"}}, ContainerConfig{User: bad}, rootfs, "h")
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "User") {
			t.Errorf("user %q: %v, want ErrInvalidConfig naming User", bad, err)
		}
	}
}

// TestBuildSpecUserStaysInRootfs: /etc/passwd is read inside the rootfs even when the
// image makes it a symlink that points out of it.
func TestBuildSpecUserStaysInRootfs(t *testing.T) {
	base := t.TempDir()
	rootfs := filepath.Join(base, "rootfs")
	if err := os.MkdirAll(filepath.Join(rootfs, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "passwd"), []byte("evil:x:0:0::/:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"../../passwd", "/../passwd", filepath.Join(base, "passwd")} {
		link := filepath.Join(rootfs, "etc", "passwd")
		os.Remove(link)
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		if _, err := buildSpec(v1.Config{Cmd: []string{"id"}}, ContainerConfig{User: "evil"}, rootfs, "h"); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("passwd -> %s: user from outside the rootfs resolved (err %v)", target, err)
		}
	}
}

func TestBuildSpecWorkingDir(t *testing.T) {
	rootfs := fakeRootfs(t)
	for _, tc := range []struct{ image, cfg, want string }{
		{"", "", "/"},
		{"/srv", "", "/srv"},
		{"/srv", "/data", "/data"},
		{"", "/a/../b/./c/", "/b/c"},
	} {
		s, err := buildSpec(v1.Config{WorkingDir: tc.image, Cmd: []string{"pwd"}}, ContainerConfig{WorkingDir: tc.cfg}, rootfs, "h")
		if err != nil {
			t.Errorf("workdir %q/%q: %v", tc.image, tc.cfg, err)
			continue
		}
		if s.Process.Cwd != tc.want {
			t.Errorf("workdir %q/%q: cwd %q, want %q", tc.image, tc.cfg, s.Process.Cwd, tc.want)
		}
	}
	for _, bad := range [][2]string{{"", "app"}, {"srv", ""}} {
		_, err := buildSpec(v1.Config{WorkingDir: bad[0], Cmd: []string{"pwd"}}, ContainerConfig{WorkingDir: bad[1]}, rootfs, "h")
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "WorkingDir") {
			t.Errorf("relative workdir %q: %v, want ErrInvalidConfig naming WorkingDir", bad, err)
		}
	}
}

func sysMount(s *specs.Spec) *specs.Mount {
	for i, m := range s.Mounts {
		if m.Destination == "/sys" {
			return &s.Mounts[i]
		}
	}
	return nil
}

func TestBuildSpecConfinement(t *testing.T) {
	rootfs := fakeRootfs(t)
	ic := v1.Config{Cmd: []string{"sh"}}
	priv, err := buildSpec(ic, ContainerConfig{Privileged: true}, rootfs, "h")
	if err != nil {
		t.Fatal(err)
	}
	if priv.Linux.Seccomp != nil || len(priv.Linux.MaskedPaths) != 0 || len(priv.Linux.ReadonlyPaths) != 0 {
		t.Errorf("privileged: seccomp %v, masked %v, read-only %v; want none", priv.Linux.Seccomp != nil, priv.Linux.MaskedPaths, priv.Linux.ReadonlyPaths)
	}
	if m := sysMount(priv); m == nil || slices.Contains(m.Options, "ro") {
		t.Errorf("privileged: /sys mount %+v, want read-write", m)
	}
	if caps := priv.Process.Capabilities; !slices.Equal(caps.Bounding, namespace.AllCapabilities()) {
		t.Errorf("privileged: bounding set %v, want every capability", caps.Bounding)
	}
	// Built after a privileged one: the defaults were not changed in place.
	s, err := buildSpec(ic, ContainerConfig{}, rootfs, "h")
	if err != nil {
		t.Fatal(err)
	}
	if s.Linux.Seccomp == nil || len(s.Linux.Seccomp.Syscalls) == 0 {
		t.Errorf("default: no seccomp profile")
	}
	if !slices.Contains(s.Linux.MaskedPaths, "/proc/kcore") || len(s.Linux.ReadonlyPaths) == 0 {
		t.Errorf("default: masked %v, read-only %v; want Docker's", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
	}
	if m := sysMount(s); m == nil || !slices.Contains(m.Options, "ro") {
		t.Errorf("default: /sys mount %+v, want read-only", m)
	}
	c := s.Process.Capabilities
	if !slices.Equal(c.Bounding, namespace.DefaultCapabilities()) || !slices.Equal(c.Effective, c.Bounding) || !slices.Equal(c.Permitted, c.Bounding) {
		t.Errorf("default: capabilities %+v, want Docker's default set in bounding, effective and permitted", c)
	}
	for _, ns := range []specs.LinuxNamespaceType{specs.PIDNamespace, specs.IPCNamespace, specs.UTSNamespace, specs.MountNamespace, specs.NetworkNamespace} {
		if !slices.ContainsFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == ns }) {
			t.Errorf("default: no %s namespace", ns)
		}
	}
}

func TestBuildSpecProcessFlags(t *testing.T) {
	rootfs := fakeRootfs(t)
	limits := []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 512}}
	cfg := ContainerConfig{Tty: true, NoNewPrivileges: true, ReadonlyRootfs: true, Init: true, Ulimits: limits}
	s, err := buildSpec(v1.Config{Cmd: []string{"sh"}}, cfg, rootfs, "web-1")
	if err != nil {
		t.Fatal(err)
	}
	p := s.Process
	if !p.Terminal || !p.NoNewPrivileges || !s.Root.Readonly || s.Root.Path != rootfs || s.Hostname != "web-1" {
		t.Errorf("spec: terminal %v, no_new_privs %v, root %+v, hostname %q", p.Terminal, p.NoNewPrivileges, s.Root, s.Hostname)
	}
	if s.Annotations[namespace.AnnotationInit] != "true" {
		t.Errorf("Init: annotations %v", s.Annotations)
	}
	limits[0].Soft = 1
	if len(p.Rlimits) != 1 || p.Rlimits[0].Soft != 512 {
		t.Errorf("rlimits %+v, want a copy of the config's", p.Rlimits)
	}
	plain, err := buildSpec(v1.Config{Cmd: []string{"sh"}}, ContainerConfig{}, rootfs, "h")
	if err != nil {
		t.Fatal(err)
	}
	if plain.Process.Terminal || plain.Process.NoNewPrivileges || plain.Root.Readonly || plain.Annotations[namespace.AnnotationInit] != "" {
		t.Errorf("zero config: %+v, root %+v, annotations %v; want none of the flags", plain.Process, plain.Root, plain.Annotations)
	}
}

func TestCapabilities(t *testing.T) {
	def := namespace.DefaultCapabilities()
	all := namespace.AllCapabilities()
	without := func(set []string, drop ...string) []string {
		return slices.DeleteFunc(slices.Clone(set), func(c string) bool { return slices.Contains(drop, c) })
	}
	for _, tc := range []struct {
		name string
		cfg  ContainerConfig
		want []string
	}{
		{"default", ContainerConfig{}, def},
		{"add, any case, with or without CAP_", ContainerConfig{CapAdd: []string{"net_admin", "CAP_SYS_TIME"}}, append(slices.Clone(def), "CAP_NET_ADMIN", "CAP_SYS_TIME")},
		{"add one already there", ContainerConfig{CapAdd: []string{"CHOWN"}}, def},
		{"drop", ContainerConfig{CapDrop: []string{"NET_RAW", "cap_mknod"}}, without(def, "CAP_NET_RAW", "CAP_MKNOD")},
		{"drop all", ContainerConfig{CapDrop: []string{"ALL"}}, nil},
		{"drop all, add back one", ContainerConfig{CapDrop: []string{"all"}, CapAdd: []string{"NET_BIND_SERVICE"}}, []string{"CAP_NET_BIND_SERVICE"}},
		{"add all, drop one", ContainerConfig{CapAdd: []string{"ALL"}, CapDrop: []string{"SYS_ADMIN"}}, without(all, "CAP_SYS_ADMIN")},
		{"privileged", ContainerConfig{Privileged: true}, all},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := capabilities(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			a, b := slices.Clone(got), slices.Clone(tc.want)
			slices.Sort(a)
			slices.Sort(b)
			if !slices.Equal(a, b) {
				t.Errorf("capabilities\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestMergeEnv(t *testing.T) {
	for _, tc := range []struct {
		lists [][]string
		want  []string
	}{
		{nil, nil},
		{[][]string{{"A=1"}, nil, {}}, []string{"A=1"}},
		{[][]string{{"A=1", "B=2"}, {"B=3"}, {"A=4", "C="}}, []string{"A=4", "B=3", "C="}},
		{[][]string{{"A=1=2"}, {"A==x"}}, []string{"A==x"}}, // only the first = splits
		{[][]string{{"FLAG"}, {"FLAG=on"}}, []string{"FLAG=on"}},
		{[][]string{{"a=1", "A=2"}}, []string{"a=1", "A=2"}}, // keys are case-sensitive
		{[][]string{{"A=1", "A=2"}}, []string{"A=2"}},
	} {
		if got := mergeEnv(tc.lists...); !slices.Equal(got, tc.want) {
			t.Errorf("mergeEnv(%q) = %q, want %q", tc.lists, got, tc.want)
		}
	}
	env := []string{"PATH=/bin", "EMPTY=", "FLAG"}
	for key, want := range map[string]bool{"PATH": true, "EMPTY": true, "FLAG": true, "PAT": false, "path": false} {
		if hasEnv(env, key) != want {
			t.Errorf("hasEnv(%q, %q) = %v, want %v", env, key, !want, want)
		}
	}
}

// TestBuildSpecShmSysctlGroups: ShmSize sizes /dev/shm, Sysctls go into the spec,
// GroupAdd adds groups by name or id (once each), and bad values are refused naming
// the field.
func TestBuildSpecShmSysctlGroups(t *testing.T) {
	root := fakeRootfs(t)
	ic := v1.Config{Cmd: []string{"true"}}
	spec, err := buildSpec(ic, ContainerConfig{Image: "x", User: "app", ShmSize: 16 << 20,
		Sysctls: map[string]string{"net.core.somaxconn": "512"}, GroupAdd: []string{"other", "4000", "extra"}}, root, "h")
	if err != nil {
		t.Fatal(err)
	}
	var shm []string
	for _, m := range spec.Mounts {
		if m.Destination == "/dev/shm" {
			shm = m.Options
		}
	}
	if !slices.Contains(shm, "size=16777216") || slices.Contains(shm, "size=65536k") {
		t.Errorf("/dev/shm options %v, want size=16777216 alone", shm)
	}
	if spec.Linux.Sysctl["net.core.somaxconn"] != "512" {
		t.Errorf("sysctl %v", spec.Linux.Sysctl)
	}
	if got := spec.Process.User.AdditionalGids; !slices.Equal(got, []uint32{2000, 3000, 4000}) {
		t.Errorf("additional gids %v, want 2000 (app's own) then 3000, 4000", got)
	}
	if err := namespace.CheckSysctls(spec); err != nil {
		t.Errorf("CheckSysctls of a net.* sysctl with a network namespace: %v", err)
	}
	spec.Linux.Sysctl["kernel.panic"] = "1"
	if err := namespace.CheckSysctls(spec); !errors.Is(err, namespace.ErrInvalidSpec) || !strings.Contains(err.Error(), "kernel.panic") {
		t.Errorf("CheckSysctls of kernel.panic: %v", err)
	}
	for _, bad := range []ContainerConfig{
		{Image: "x", ShmSize: -1},
		{Image: "x", GroupAdd: []string{"nosuchgroup"}},
	} {
		if _, err := buildSpec(ic, bad, root, "h"); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v, want ErrInvalidConfig", bad, err)
		}
	}
}
