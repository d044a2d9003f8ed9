package namespace_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiffrt/skiff/namespace"
)

func TestProcessSettings(t *testing.T) {
	cfg, o, e := newConfig(t, busyboxRootfs(t), "sh", "-c", "id -u; id -g; id -G; pwd; ulimit -n; env")
	p := cfg.Spec.Process
	p.User = specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{1001, 2000}}
	p.Cwd = "/work/dir" // missing: created as runc does
	p.Env = append(p.Env, "FOO=bar")
	p.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1000, Hard: 2000}}
	r := run(t, cfg, o, e)
	want := "1000\n1001\n1001 2000\n/work/dir\n1000\n"
	if r.status.Code != 0 || !strings.HasPrefix(r.stdout, want) {
		t.Fatalf("status %+v stdout %q stderr %q, want prefix %q", r.status, r.stdout, r.stderr, want)
	}
	env := strings.Fields(strings.TrimPrefix(r.stdout, want))
	for _, kv := range env {
		if strings.HasPrefix(kv, "_SKIFF") {
			t.Errorf("init marker leaked into the container's env: %q", env)
		}
	}
	if !strings.Contains(r.stdout, "FOO=bar") {
		t.Errorf("env missing FOO=bar: %q", env)
	}
}

func TestMemoryRlimitsBelowInitsOwn(t *testing.T) {
	// An address-space limit far below what init's Go runtime maps, and an nproc limit
	// of 1 for a non-root user, apply to the command but never starve init itself: it
	// lowers them only just before execve. Each run would fail to start otherwise.
	const as, data = 64 << 20, 48 << 20
	for i := 0; i < 3; i++ {
		cfg, o, e := newConfig(t, busyboxRootfs(t), "sh", "-c",
			"ulimit -v; ulimit -d; ulimit -u; ulimit -H -v")
		p := cfg.Spec.Process
		p.User = specs.User{UID: 1000, GID: 1000}
		p.Rlimits = []specs.POSIXRlimit{
			{Type: "RLIMIT_AS", Soft: as, Hard: 2 * as},
			{Type: "RLIMIT_DATA", Soft: data, Hard: data},
			{Type: "RLIMIT_NPROC", Soft: 1, Hard: 1},
		}
		r := run(t, cfg, o, e)
		want := strconv.Itoa(as>>10) + "\n" + strconv.Itoa(data>>10) + "\n1\n" + strconv.Itoa(2*as>>10) + "\n"
		if r.status.Code != 0 || r.stdout != want {
			t.Fatalf("run %d: status %+v stdout %q stderr %q, want %q", i, r.status, r.stdout, r.stderr, want)
		}
	}
}

func TestRlimitErrorsNameField(t *testing.T) {
	for _, rl := range []specs.POSIXRlimit{
		{Type: "RLIMIT_BOGUS", Soft: 1, Hard: 1},
		{Type: "RLIMIT_AS", Soft: 2 << 20, Hard: 1 << 20},
	} {
		cfg, o, e := newConfig(t, busyboxRootfs(t), "true")
		cfg.Spec.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_CORE", Soft: 0, Hard: 0}, rl}
		_, _ = o, e
		p, err := namespace.Create(context.Background(), cfg)
		if err == nil {
			t.Cleanup(func() { _ = p.Signal(os.Kill) })
			if err = p.Start(); err == nil {
				_, _ = p.Wait()
			}
		}
		if err == nil || !strings.Contains(err.Error(), "process.rlimits[1]") {
			t.Errorf("rlimit %+v: err %v, want one naming process.rlimits[1]", rl, err)
		}
	}
}

func TestDefaultRlimitNofile(t *testing.T) {
	// Without rlimits the container gets its creator's soft limit, not the one the Go
	// runtime of init raised to the hard limit at startup.
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	require(t, "hard RLIMIT_NOFILE above 1000", old.Max > 1000)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: 1000, Max: old.Max}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })
	cfg, o, e := newConfig(t, busyboxRootfs(t), "sh", "-c", "ulimit -n")
	r := run(t, cfg, o, e)
	if strings.TrimSpace(r.stdout) != "1000" {
		t.Fatalf("ulimit -n in the container %q (stderr %q), want the creator's 1000", r.stdout, r.stderr)
	}
}

func TestSecurityPaths(t *testing.T) {
	masked := ""
	for _, f := range namespace.DefaultMaskedPaths {
		if fi, err := os.Stat(f); err == nil && fi.Mode().IsRegular() {
			masked = f
			break
		}
	}
	if masked == "" {
		t.Fatal("no masked /proc file exists on this host")
	}
	cfg, o, e := newConfig(t, busyboxRootfs(t), "sh", "-c",
		"wc -c < "+masked+"; echo 1 > /proc/sys/kernel/hostname && echo procsys-writable; "+
			"ls /sys/firmware | wc -l; touch /rootfs-file || echo rootfs-ro; touch /tmp/x || echo tmp-ro; true")
	cfg.Spec.Root.Readonly = true
	r := run(t, cfg, o, e)
	want := "0\n0\nrootfs-ro\ntmp-ro\n"
	if r.stdout != want {
		t.Fatalf("stdout %q want %q (stderr %q)", r.stdout, want, r.stderr)
	}
	if !strings.Contains(r.stderr, "Read-only file system") {
		t.Errorf("stderr %q", r.stderr)
	}
}

func TestDevices(t *testing.T) {
	r := runArgs(t, "sh", "-c", "ls /dev | sort | tr '\\n' ' '; echo; readlink /dev/ptmx; readlink /dev/fd; echo x > /dev/null && head -c 4 /dev/zero | wc -c")
	lines := strings.Split(r.stdout, "\n")
	for _, d := range []string{"full", "mqueue", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout", "tty", "urandom", "zero", "fd"} {
		if !strings.Contains(" "+lines[0], " "+d+" ") {
			t.Errorf("/dev lacks %s: %q", d, lines[0])
		}
	}
	if len(lines) < 4 || lines[1] != "pts/ptmx" || lines[2] != "/proc/self/fd" || strings.TrimSpace(lines[3]) != "4" {
		t.Fatalf("stdout %q stderr %q", r.stdout, r.stderr)
	}
}

func TestBindMountAndJoinNetns(t *testing.T) {
	host := t.TempDir()
	if err := os.WriteFile(host+"/data", []byte("from host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A first container owns a network namespace; the second joins it by path.
	p, _ := runningContainer(t, "owner", "sleep", "100")
	netns := "/proc/" + strconv.Itoa(p.Pid) + "/ns/net"
	want, err := os.Readlink(netns)
	if err != nil {
		t.Fatal(err)
	}
	cfg, o, e := newConfig(t, busyboxRootfs(t), "sh", "-c", "cat /mnt/host/data; touch /mnt/host/x || echo bind-ro; readlink /proc/self/ns/net")
	cfg.Spec.Mounts = append(cfg.Spec.Mounts, specs.Mount{Destination: "/mnt/host", Type: "bind", Source: host, Options: []string{"rbind", "ro"}})
	for i, ns := range cfg.Spec.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace {
			cfg.Spec.Linux.Namespaces[i].Path = netns
		}
	}
	r := run(t, cfg, o, e)
	if r.stdout != "from host\nbind-ro\n"+want+"\n" {
		t.Fatalf("stdout %q stderr %q, want net ns %s", r.stdout, r.stderr, want)
	}
}

func TestInvalidSpec(t *testing.T) {
	root := busyboxRootfs(t)
	for name, mod := range map[string]func(*specs.Spec){
		"no args":      func(s *specs.Spec) { s.Process.Args = nil },
		"relative cwd": func(s *specs.Spec) { s.Process.Cwd = "tmp" },
		"userns": func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		},
		"hostname without uts": func(s *specs.Spec) {
			s.Hostname = "h"
			s.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.MountNamespace}}
		},
	} {
		t.Run(name, func(t *testing.T) {
			cfg, _, _ := newConfig(t, root, "true")
			mod(cfg.Spec)
			if _, err := namespace.Create(context.Background(), cfg); !errors.Is(err, namespace.ErrInvalidSpec) {
				t.Fatalf("Create: %v, want ErrInvalidSpec", err)
			}
		})
	}
}

func TestMountErrorNamesField(t *testing.T) {
	cfg, _, _ := newConfig(t, busyboxRootfs(t), "true")
	cfg.Spec.Mounts = append(cfg.Spec.Mounts, specs.Mount{Destination: "/mnt", Type: "bind", Source: "/nonexistent-skiff-src"})
	_, err := namespace.Create(context.Background(), cfg)
	if !errors.Is(err, namespace.ErrInit) || !strings.Contains(err.Error(), "mounts[6] (/mnt)") ||
		!strings.Contains(err.Error(), "/nonexistent-skiff-src") {
		t.Fatalf("Create: %v", err)
	}
}

func TestNoFdLeakInParent(t *testing.T) {
	root := busyboxRootfs(t)
	count := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(ents)
	}
	// Warm up (the sealed exe is cached once per process).
	cfg, o, e := newConfig(t, root, "true")
	run(t, cfg, o, e)
	before := count()
	for i := 0; i < 20; i++ {
		cfg, o, e := newConfig(t, root, "true")
		run(t, cfg, o, e)
		cfg, _, _ = newConfig(t, root, "nosuch")
		if _, err := namespace.Create(context.Background(), cfg); !errors.Is(err, namespace.ErrNotFound) {
			t.Fatal(err)
		}
	}
	if after := count(); after > before {
		t.Fatalf("fds in the test process: %d before, %d after 20 containers", before, after)
	}
}
