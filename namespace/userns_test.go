package namespace_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiffrt/skiff/namespace"
)

const mappedRoot = 100000

// chownTree gives every file under dir to uid:gid (not following symlinks) and
// makes the directories above dir traversable, as an engine does for a user
// namespace.
func chownTree(t *testing.T, dir string, id int) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, id, id)
	})
	if err != nil {
		t.Fatal(err)
	}
	for p := filepath.Dir(dir); p != "/"; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(p, fi.Mode().Perm()|0o011); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// usernsConfig runs args in a busybox rootfs owned by the range it maps: 0-65535 inside to 100000-165535.
func usernsConfig(t *testing.T, args ...string) (*namespace.Config, *strings.Builder) {
	root := busyboxRootfs(t)
	chownTree(t, root, mappedRoot)
	cfg, _, _ := newConfig(t, root, args...)
	var out strings.Builder
	cfg.Stdout, cfg.Stderr = &out, &out
	l := cfg.Spec.Linux
	l.Namespaces = append(l.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	l.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: mappedRoot, Size: 65536}}
	l.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: mappedRoot, Size: 65536}}
	return cfg, &out
}

func runToEnd(t *testing.T, cfg *namespace.Config) namespace.ExitStatus {
	t.Helper()
	p, err := namespace.Create(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Signal(syscall.SIGKILL) })
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	st, err := p.Wait()
	if err != nil {
		t.Fatal(err)
	}
	assertGone(t, p.Pid, cfg.Spec.Root.Path)
	return st
}

func TestUserNamespace(t *testing.T) {
	vol := t.TempDir()
	cfg, out := usernsConfig(t, "sh", "-c", "id -u; id -g; cat /proc/self/uid_map; touch /data/f && mkdir /tmp/d && echo ok; grep CapEff /proc/self/status")
	chownTree(t, vol, mappedRoot)
	cfg.Spec.Mounts = append(cfg.Spec.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: vol, Options: []string{"rbind", "rw"}})
	st := runToEnd(t, cfg)
	got := out.String()
	if st.Code != 0 || !re(`^0\n0\n +0 +100000 +65536\nok\nCapEff:\t00000000a80425fb\n$`).MatchString(got) {
		t.Fatalf("in a user namespace: %+v %q", st, got)
	}
	fi, err := os.Stat(filepath.Join(vol, "f"))
	if err != nil {
		t.Fatal(err)
	}
	if sys := fi.Sys().(*syscall.Stat_t); sys.Uid != mappedRoot || sys.Gid != mappedRoot {
		t.Fatalf("file made by root inside is owned by %d:%d on the host, want %d", sys.Uid, sys.Gid, mappedRoot)
	}
}

func TestUserNamespaceNonRootUserAndErrors(t *testing.T) {
	cfg, out := usernsConfig(t, "sh", "-c", "id -u; touch /f 2>&1; grep CapEff /proc/self/status")
	cfg.Spec.Process.User = specs.User{UID: 1000, GID: 1000}
	st := runToEnd(t, cfg)
	if got := out.String(); st.Code != 0 || !strings.HasPrefix(got, "1000\ntouch: /f: Permission denied\nCapEff:\t0000000000000000") {
		t.Fatalf("user 1000 in a user namespace: %+v %q", st, got)
	}
	cfg, _ = usernsConfig(t, "true")
	cfg.Spec.Linux.UIDMappings = nil
	if _, err := namespace.Create(context.Background(), cfg); !errors.Is(err, namespace.ErrInvalidSpec) || !strings.Contains(err.Error(), "linux.uidMappings") {
		t.Fatalf("user namespace without mappings: %v", err)
	}
}

func TestUserNamespaceExecRefused(t *testing.T) {
	cfg, _ := usernsConfig(t, "sleep", "100")
	p, err := namespace.Create(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Signal(syscall.SIGKILL); _, _ = p.Wait() })
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	_, err = namespace.Exec(context.Background(), p.Pid, &namespace.ExecConfig{Process: &specs.Process{Args: []string{"true"}}})
	if !errors.Is(err, namespace.ErrInvalidSpec) || !strings.Contains(err.Error(), "user namespace") {
		t.Fatalf("exec into a user namespace: %v", err)
	}
}
