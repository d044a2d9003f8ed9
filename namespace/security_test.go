package namespace_test

import (
	"context"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/skiffrt/skiff/namespace"
)

// dockerCaps is Docker's default capability set as /proc/<pid>/status shows it.
const dockerCaps = "00000000a80425fb"

// statusFields parses the "Key:\tvalue" lines of /proc/self/status printed by a
// container.
func statusFields(out string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

func TestDefaultCapabilities(t *testing.T) {
	cfg, o, e := newConfig(t, busyboxRootfs(t), "cat", "/proc/self/status")
	r := run(t, cfg, o, e)
	st := statusFields(r.stdout)
	want := map[string]string{"CapEff": dockerCaps, "CapPrm": dockerCaps, "CapBnd": dockerCaps,
		"CapInh": "0000000000000000", "CapAmb": "0000000000000000", "NoNewPrivs": "0", "Seccomp": "2"}
	for k, v := range want {
		if st[k] != v {
			t.Errorf("%s = %q, want %q", k, st[k], v)
		}
	}
}

func TestNoSysAdminNoMount(t *testing.T) {
	cfg, o, e := newConfig(t, busyboxRootfs(t), "sh", "-c", "mount -t tmpfs none /tmp; echo rc=$?")
	cfg.Spec.Linux.Seccomp = nil // the capability alone must stop it
	r := run(t, cfg, o, e)
	if !strings.Contains(r.stdout, "rc=1") || !strings.Contains(r.stderr, "permission denied") {
		t.Fatalf("mount without CAP_SYS_ADMIN: stdout %q stderr %q", r.stdout, r.stderr)
	}
	// Control: with CAP_SYS_ADMIN it works.
	cfg, o, e = newConfig(t, busyboxRootfs(t), "sh", "-c", "mount -t tmpfs none /tmp; echo rc=$?")
	caps := append(namespace.DefaultCapabilities(), "CAP_SYS_ADMIN")
	cfg.Spec.Process.Capabilities = &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps}
	cfg.Spec.Linux.Seccomp = nil
	if r := run(t, cfg, o, e); !strings.Contains(r.stdout, "rc=0") {
		t.Fatalf("mount with CAP_SYS_ADMIN: stdout %q stderr %q", r.stdout, r.stderr)
	}
}

func TestNonRootCapabilities(t *testing.T) {
	cfg, o, e := newConfig(t, busyboxRootfs(t), "cat", "/proc/self/status")
	cfg.Spec.Process.User = specs.User{UID: 1000, GID: 1000}
	r := run(t, cfg, o, e)
	st := statusFields(r.stdout)
	if st["Uid"] != "1000\t1000\t1000\t1000" || st["CapEff"] != "0000000000000000" ||
		st["CapPrm"] != "0000000000000000" || st["CapBnd"] != dockerCaps {
		t.Fatalf("non-root status: Uid %q CapEff %q CapPrm %q CapBnd %q", st["Uid"], st["CapEff"], st["CapPrm"], st["CapBnd"])
	}
}

func TestAmbientCapabilities(t *testing.T) {
	// A non-root user keeps an ambient capability across execve.
	cfg, o, e := newConfig(t, busyboxRootfs(t), "cat", "/proc/self/status")
	p := cfg.Spec.Process
	p.User = specs.User{UID: 1000, GID: 1000}
	p.Capabilities.Inheritable = []string{"CAP_NET_BIND_SERVICE"}
	p.Capabilities.Ambient = []string{"CAP_NET_BIND_SERVICE"}
	r := run(t, cfg, o, e)
	st := statusFields(r.stdout)
	if st["CapEff"] != "0000000000000400" || st["CapAmb"] != "0000000000000400" {
		t.Fatalf("ambient: CapEff %q CapAmb %q (stderr %q)", st["CapEff"], st["CapAmb"], r.stderr)
	}
}

func TestNoNewPrivileges(t *testing.T) {
	cfg, o, e := newConfig(t, busyboxRootfs(t), "cat", "/proc/self/status")
	cfg.Spec.Process.NoNewPrivileges = true
	r := run(t, cfg, o, e)
	if st := statusFields(r.stdout); st["NoNewPrivs"] != "1" || st["Seccomp"] != "2" {
		t.Fatalf("NoNewPrivs %q Seccomp %q", st["NoNewPrivs"], st["Seccomp"])
	}
}

func TestSpecErrorsNameFields(t *testing.T) {
	root := busyboxRootfs(t)
	for _, tc := range []struct {
		name   string
		change func(s *specs.Spec)
		want   string
	}{
		{"cap", func(s *specs.Spec) { s.Process.Capabilities.Bounding = []string{"CAP_CHOWN", "CAP_FOO"} },
			`process.capabilities.bounding[1]: unknown capability "CAP_FOO"`},
		{"ambient", func(s *specs.Spec) { s.Process.Capabilities.Ambient = []string{"chown"} },
			`process.capabilities.ambient[0]: unknown capability "chown"`},
		{"action", func(s *specs.Spec) { s.Linux.Seccomp.Syscalls[2].Action = "SCMP_ACT_NOPE" },
			`linux.seccomp.syscalls[2].action: unknown action "SCMP_ACT_NOPE"`},
		{"name", func(s *specs.Spec) { s.Linux.Seccomp.Syscalls[2].Names[0] = "" },
			`linux.seccomp.syscalls[2].names[0]: empty syscall name`},
		{"op", func(s *specs.Spec) {
			s.Linux.Seccomp.Syscalls = append(s.Linux.Seccomp.Syscalls, specs.LinuxSyscall{
				Names: []string{"read"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 7, Op: specs.OpEqualTo}}})
		}, `].args[0]: index 7 out of range 0-5`},
		{"notify", func(s *specs.Spec) { s.Linux.Seccomp.DefaultAction = specs.ActNotify },
			`linux.seccomp.defaultAction: action SCMP_ACT_NOTIFY is not supported`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _, _ := newConfig(t, root, "true")
			tc.change(cfg.Spec)
			p, err := namespace.Create(context.Background(), cfg)
			if err == nil {
				_ = p.Signal(unix.SIGKILL)
				_, _ = p.Wait()
				t.Fatal("Create: no error")
			}
			if !errors.Is(err, namespace.ErrInvalidSpec) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Create: %v, want ErrInvalidSpec containing %q", err, tc.want)
			}
		})
	}
}

// allCaps is every capability in every set but ambient (a privileged process).
func allCaps() *specs.LinuxCapabilities {
	c := namespace.AllCapabilities()
	return &specs.LinuxCapabilities{Bounding: c, Effective: c, Permitted: c, Inheritable: c}
}

func TestSeccompDefaultBlocks(t *testing.T) {
	// Full capabilities but Docker's profile for the default set: only seccomp can
	// refuse unshare(2) and mount(2) here.
	prof, err := namespace.DefaultSeccomp(namespace.DefaultSpec("/").Process.Capabilities)
	if err != nil {
		t.Fatal(err)
	}
	cfg, o, e := newConfig(t, busyboxRootfs(t), "sh", "-c",
		"unshare -m true; echo unshare=$?; mount -t tmpfs none /tmp; echo mount=$?; echo hi > /tmp/f && cat /tmp/f; grep CapEff /proc/self/status")
	cfg.Spec.Process.Capabilities = allCaps()
	cfg.Spec.Linux.Seccomp = prof
	r := run(t, cfg, o, e)
	if !strings.HasPrefix(r.stdout, "unshare=1\nmount=1\nhi\n") ||
		r.stderr != "unshare: unshare(0x20000): Operation not permitted\nmount: permission denied (are you root?)\n" {
		t.Fatalf("default profile: stdout %q stderr %q", r.stdout, r.stderr)
	}
	host, _ := os.ReadFile("/proc/self/status")
	if want := regexp.MustCompile(`CapBnd:\s+(\w+)`).FindStringSubmatch(string(host)); !strings.Contains(r.stdout, "CapEff:\t"+want[1]) {
		t.Errorf("not all capabilities (host has %s): %q", want[1], r.stdout)
	}
	// Control: the profile computed for the full set allows both.
	prof, err = namespace.DefaultSeccomp(allCaps())
	if err != nil {
		t.Fatal(err)
	}
	cfg, o, e = newConfig(t, busyboxRootfs(t), "sh", "-c", "unshare -m true; echo unshare=$?; mount -t tmpfs none /tmp; echo mount=$?")
	cfg.Spec.Process.Capabilities = allCaps()
	cfg.Spec.Linux.Seccomp = prof
	if r := run(t, cfg, o, e); r.stdout != "unshare=0\nmount=0\n" {
		t.Fatalf("profile for all capabilities: stdout %q stderr %q", r.stdout, r.stderr)
	}
}

func TestSeccompCustomErrno(t *testing.T) {
	xdev := uint(unix.EXDEV)
	for _, nnp := range []bool{false, true} {
		cfg, o, e := newConfig(t, busyboxRootfs(t), "sh", "-c", "mkdir /tmp/d; echo rc=$?; touch /tmp/f && echo touched")
		cfg.Spec.Process.NoNewPrivileges = nnp
		cfg.Spec.Linux.Seccomp = &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Architectures: []specs.Arch{specs.ArchX86_64},
			Syscalls: []specs.LinuxSyscall{
				{Names: []string{"mkdir", "mkdirat", "no_such_syscall"}, Action: specs.ActErrno, ErrnoRet: &xdev},
			},
		}
		r := run(t, cfg, o, e)
		if r.stdout != "rc=1\ntouched\n" || !strings.Contains(r.stderr, "Invalid cross-device link") {
			t.Fatalf("nnp=%v mkdir under a profile returning EXDEV: stdout %q stderr %q", nnp, r.stdout, r.stderr)
		}
	}
}
