package namespace

import (
	"fmt"
	"log/slog"
	"os"
	"runtime"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Joining namespaces by path (a Linux.Namespaces entry with Path):
//
//   - net, uts, ipc and cgroup: init setns'es on its locked main thread, the one that
//     execve's (these namespaces are per thread).
//   - mnt: init first unshares CLONE_FS on that thread (setns(CLONE_NEWNS) refuses a
//     thread sharing its root and cwd with others), then setns'es, last of all (the
//     other paths are opened before, in the caller's filesystem view) and sets up the
//     rootfs in the joined namespace as in a new one. Init is still cloned with
//     CLONE_NEWNS, so its other threads sit in a private copy that pivot_root leaves
//     alone.
//   - pid: a process cannot enter a PID namespace, only its children are born in one.
//     The parent setns'es the thread that clones init (locked for Pdeathsig already)
//     into the namespace, which sets that thread's pid_for_children, clones, and
//     setns'es the thread back into its own.
//   - user: not supported (setns(CLONE_NEWUSER) needs a single-threaded process).

// joinable maps the namespaces that can be joined by path to their setns type.
var joinable = map[specs.LinuxNamespaceType]int{
	specs.NetworkNamespace: unix.CLONE_NEWNET,
	specs.UTSNamespace:     unix.CLONE_NEWUTS,
	specs.IPCNamespace:     unix.CLONE_NEWIPC,
	specs.CgroupNamespace:  unix.CLONE_NEWCGROUP,
	specs.MountNamespace:   unix.CLONE_NEWNS,
	specs.PIDNamespace:     unix.CLONE_NEWPID,
}

// hasMountNamespace reports whether init gets a mount namespace of its own (new or
// joined). Without one (a Linux.Namespaces list with no mount entry) it stays in its
// creator's: the rootfs is set up there and entered with chroot, as runc does.
func hasMountNamespace(s *specs.Spec) bool {
	if s.Linux == nil || s.Linux.Namespaces == nil {
		return true // the defaults (see cloneFlags)
	}
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == specs.MountNamespace {
			return true
		}
	}
	return false
}

// nsPath returns the index and Path of the spec's namespace of type typ, or -1 and
// "" when it has none with a path.
func nsPath(s *specs.Spec, typ specs.LinuxNamespaceType) (int, string) {
	if s.Linux == nil {
		return -1, ""
	}
	for i, ns := range s.Linux.Namespaces {
		if ns.Type == typ && ns.Path != "" {
			return i, ns.Path
		}
	}
	return -1, ""
}

// enterPidns moves the calling thread's namespace for new children into the PID
// namespace at the spec's pid namespace path, if any, so that the next clone from
// this thread makes init inside it. The caller has locked the goroutine to its OS
// thread and must call restore right after the clone. If restoring fails, restore
// locks the thread once more so that it is never reused for other goroutines (it
// then dies with the goroutine that holds it, or stays wedged to it).
func enterPidns(s *specs.Spec) (restore func(), err error) {
	i, path := nsPath(s, specs.PIDNamespace)
	if path == "" {
		return func() {}, nil
	}
	field := fmt.Sprintf("linux.namespaces[%d]", i)
	const own = "/proc/thread-self/ns/pid_for_children"
	old, err := unix.Open(own, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInit, &os.PathError{Op: "open", Path: own, Err: err})
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(old)
		return nil, fmt.Errorf("%w: %s: %w", ErrInit, field, &os.PathError{Op: "open", Path: path, Err: err})
	}
	err = unix.Setns(fd, unix.CLONE_NEWPID)
	unix.Close(fd)
	if err != nil {
		unix.Close(old)
		return nil, fmt.Errorf("%w: %s: %w", ErrInit, field, &os.PathError{Op: "setns", Path: path, Err: err})
	}
	return func() {
		err := unix.Setns(old, unix.CLONE_NEWPID)
		unix.Close(old)
		if err != nil {
			runtime.LockOSThread() // never unlocked: see above
			slog.Error("namespace: cannot restore the pid namespace for children of a thread; the thread is retired", "err", err)
		}
	}, nil
}

// joinNamespaces setns'es init's main thread (locked; the one that execve's) into the
// namespaces of spec that have a Path, but pid (joined by the parent, see
// enterPidns). Every path is opened first, in the creator's filesystem view; the
// mount namespace is joined last, after unshare(CLONE_FS).
func joinNamespaces(s *specs.Spec) error {
	if s.Linux == nil {
		return nil
	}
	type join struct {
		field string
		path  string
		typ   specs.LinuxNamespaceType
		fd    int
	}
	var joins []join
	defer func() {
		for _, j := range joins {
			unix.Close(j.fd)
		}
	}()
	var mnt *join
	for i, ns := range s.Linux.Namespaces {
		if ns.Path == "" || ns.Type == specs.PIDNamespace {
			continue
		}
		field := fmt.Sprintf("linux.namespaces[%d]", i)
		fd, err := unix.Open(ns.Path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return inField(field, &os.PathError{Op: "open", Path: ns.Path, Err: err})
		}
		joins = append(joins, join{field, ns.Path, ns.Type, fd})
	}
	for i := range joins {
		j := &joins[i]
		if j.typ == specs.MountNamespace {
			mnt = j
			continue
		}
		if err := unix.Setns(j.fd, joinable[j.typ]); err != nil {
			return inField(j.field, &os.PathError{Op: "setns", Path: j.path, Err: err})
		}
	}
	if mnt == nil {
		return nil
	}
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return inField(mnt.field, fmt.Errorf("unshare CLONE_FS: %w", err))
	}
	if err := unix.Setns(mnt.fd, unix.CLONE_NEWNS); err != nil {
		return inField(mnt.field, &os.PathError{Op: "setns", Path: mnt.path, Err: err})
	}
	return nil
}
