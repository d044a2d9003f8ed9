package namespace

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// sysctlNamespaces maps the prefixes of namespaced sysctls to the namespace that owns
// them (as runc's validator does): writing one in that namespace cannot touch the host.
var sysctlNamespaces = []struct {
	prefix string
	ns     specs.LinuxNamespaceType
}{
	{"kernel.msgmax", specs.IPCNamespace}, {"kernel.msgmnb", specs.IPCNamespace},
	{"kernel.msgmni", specs.IPCNamespace}, {"kernel.sem", specs.IPCNamespace},
	{"kernel.shmall", specs.IPCNamespace}, {"kernel.shmmax", specs.IPCNamespace},
	{"kernel.shmmni", specs.IPCNamespace}, {"kernel.shm_rmid_forced", specs.IPCNamespace},
	{"fs.mqueue.", specs.IPCNamespace},
	{"net.", specs.NetworkNamespace},
	{"kernel.hostname", specs.UTSNamespace}, {"kernel.domainname", specs.UTSNamespace},
}

// sysctlNamespace returns the namespace type owning the sysctl key, or "" when the
// key is not namespaced (it would change the host).
func sysctlNamespace(key string) specs.LinuxNamespaceType {
	for _, s := range sysctlNamespaces {
		if key == s.prefix || strings.HasSuffix(s.prefix, ".") && strings.HasPrefix(key, s.prefix) {
			return s.ns
		}
	}
	return ""
}

// ApplySysctls writes spec's Linux.Sysctl in the namespaces of the process pid (a
// container init created by Create, still blocked before its command): on an OS
// thread that joins pid's ipc, net and uts namespaces, through the host's /proc/sys,
// whose namespaced files follow the opening thread's namespaces. Each key must be a
// namespaced sysctl whose namespace spec makes or joins (a new or joined net
// namespace for net.*); anything else is refused with ErrInvalidSpec naming the key,
// since it would change the host. The thread is restored or, failing that, discarded.
func ApplySysctls(pid int, spec *specs.Spec) error {
	if spec == nil || spec.Linux == nil || len(spec.Linux.Sysctl) == 0 {
		return nil
	}
	if err := CheckSysctls(spec); err != nil {
		return err
	}
	own := map[specs.LinuxNamespaceType]bool{}
	paths := map[specs.LinuxNamespaceType]string{}
	for _, ns := range spec.Linux.Namespaces {
		own[ns.Type] = true
		paths[ns.Type] = ns.Path
	}
	need := map[specs.LinuxNamespaceType]string{}
	for k := range spec.Linux.Sysctl {
		ns := sysctlNamespace(k)
		switch {
		case ns == "":
			return fmt.Errorf("%w: linux.sysctl %q is not namespaced: it would change the host", ErrInvalidSpec, k)
		case !own[ns]:
			return fmt.Errorf("%w: linux.sysctl %q needs a %s namespace in linux.namespaces", ErrInvalidSpec, k, ns)
		}
		// A namespace joined by path is joined by init only after BeforeInit: use
		// the path, never init's current (the host's) namespace.
		need[ns] = paths[ns]
		if need[ns] != "" && sameFile(need[ns], "/proc/self/ns/"+nsFiles[ns].file) {
			return fmt.Errorf("%w: linux.sysctl %q: the %s namespace %s is the host's", ErrInvalidSpec, k, ns, need[ns])
		}
		if need[ns] == "" {
			need[ns] = filepath.Join("/proc", strconv.Itoa(pid), "ns", nsFiles[ns].file)
		}
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		restored, err := writeSysctls(spec.Linux.Sysctl, need)
		if restored {
			runtime.UnlockOSThread()
		} // else the goroutine exits locked and the runtime discards the thread
		errc <- err
	}()
	return <-errc
}

// CheckSysctls reports, as ApplySysctls would, the first of spec's Linux.Sysctl keys
// that is not namespaced or whose namespace spec does not make or join: to refuse a
// spec before any process starts.
func CheckSysctls(spec *specs.Spec) error {
	if spec == nil || spec.Linux == nil {
		return nil
	}
	own := map[specs.LinuxNamespaceType]bool{}
	for _, ns := range spec.Linux.Namespaces {
		own[ns.Type] = true
	}
	for _, k := range slices.Sorted(maps.Keys(spec.Linux.Sysctl)) {
		switch ns := sysctlNamespace(k); {
		case ns == "":
			return fmt.Errorf("%w: linux.sysctl %q is not namespaced: it would change the host", ErrInvalidSpec, k)
		case !own[ns]:
			return fmt.Errorf("%w: linux.sysctl %q needs a %s namespace in linux.namespaces", ErrInvalidSpec, k, ns)
		}
	}
	return nil
}

// nsFiles names the /proc/<pid>/ns file and setns flag of each namespace type.
var nsFiles = map[specs.LinuxNamespaceType]struct {
	file string
	flag int
}{
	specs.IPCNamespace:     {"ipc", unix.CLONE_NEWIPC},
	specs.NetworkNamespace: {"net", unix.CLONE_NEWNET},
	specs.UTSNamespace:     {"uts", unix.CLONE_NEWUTS},
}

// writeSysctls runs on a locked thread: setns into the namespace files of need (by
// type), write, setns back. It reports whether the thread is back in its own
// namespaces.
func writeSysctls(sysctl map[string]string, need map[specs.LinuxNamespaceType]string) (bool, error) {
	var back []func() error
	restore := func() bool {
		ok := true
		for i := len(back) - 1; i >= 0; i-- {
			if back[i]() != nil {
				ok = false
			}
		}
		return ok
	}
	for t, target := range need {
		nf := nsFiles[t]
		self, err := os.Open("/proc/thread-self/ns/" + nf.file)
		if err != nil {
			return restore(), err
		}
		defer self.Close()
		fd, err := unix.Open(target, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return restore(), &os.PathError{Op: "open", Path: target, Err: err}
		}
		err = unix.Setns(fd, nf.flag)
		unix.Close(fd)
		if err != nil {
			return restore(), &os.PathError{Op: "setns", Path: target, Err: err}
		}
		back = append(back, func() error { return unix.Setns(int(self.Fd()), nf.flag) })
	}
	var werr error
	for k, v := range sysctl {
		p := "/proc/sys/" + strings.ReplaceAll(k, ".", "/")
		if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
			werr = fmt.Errorf("linux.sysctl %q: %w", k, err)
			break
		}
	}
	return restore(), werr
}

// sameFile reports whether the paths name the same inode (namespace files compare so).
func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}
