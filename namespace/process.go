package namespace

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// DefaultPath is the PATH used to find the command when Process.Env has none
// (Docker's default).
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// setupProcess runs after pivot_root: hostname, rlimits, user, working directory,
// security settings (see security.go for the order); then it resolves the command.
// It returns the path to execve and the security settings whose last step
// (beforeExec) is still to run.
func setupProcess(s *specs.Spec, filter *seccompFilter) (string, *security, error) {
	if s.Hostname != "" {
		if err := unix.Sethostname([]byte(s.Hostname)); err != nil {
			return "", nil, inField("hostname", fmt.Errorf("sethostname %q: %w", s.Hostname, err))
		}
	}
	if s.Domainname != "" {
		if err := unix.Setdomainname([]byte(s.Domainname)); err != nil {
			return "", nil, inField("domainname", fmt.Errorf("setdomainname %q: %w", s.Domainname, err))
		}
	}
	return prepareProcess(s, filter)
}

// prepareProcess sets the rlimits, umask, security settings, user, cwd and
// no_new_privs of the calling thread, then resolves the command (see setupProcess).
// filter, if not nil, is the seccomp filter the parent compiled from the profile
// (which s then lacks).
func prepareProcess(s *specs.Spec, filter *seccompFilter) (string, *security, error) {
	p := s.Process
	late, err := setRlimits(p.Rlimits)
	if err != nil {
		return "", nil, err
	}
	if p.User.Umask != nil {
		unix.Umask(int(*p.User.Umask))
	} else {
		unix.Umask(0o022)
	}
	sec, err := newSecurity(p, specSeccomp(s))
	if err != nil {
		return "", nil, err
	}
	if filter != nil {
		sec.seccomp = filter
	}
	sec.lateRlimits = late
	if err := sec.applyWithUser(p.User); err != nil {
		return "", nil, err
	}
	cwd := p.Cwd
	if cwd == "" {
		cwd = "/"
	}
	if err := unix.Chdir(cwd); err != nil {
		return "", nil, inField("process.cwd", &os.PathError{Op: "chdir", Path: cwd, Err: err})
	}
	if err := sec.setNoNewPrivs(); err != nil {
		return "", nil, err
	}
	exe, err := lookPath(p.Args[0], p.Env)
	return exe, sec, err
}

// rlimitTable lists rlimit names and numbers (constants, no map built at package init).
var rlimitTable = [...]struct {
	name string
	num  int
}{
	{"RLIMIT_AS", unix.RLIMIT_AS},
	{"RLIMIT_CORE", unix.RLIMIT_CORE},
	{"RLIMIT_CPU", unix.RLIMIT_CPU},
	{"RLIMIT_DATA", unix.RLIMIT_DATA},
	{"RLIMIT_FSIZE", unix.RLIMIT_FSIZE},
	{"RLIMIT_LOCKS", unix.RLIMIT_LOCKS},
	{"RLIMIT_MEMLOCK", unix.RLIMIT_MEMLOCK},
	{"RLIMIT_MSGQUEUE", unix.RLIMIT_MSGQUEUE},
	{"RLIMIT_NICE", unix.RLIMIT_NICE},
	{"RLIMIT_NOFILE", unix.RLIMIT_NOFILE},
	{"RLIMIT_NPROC", unix.RLIMIT_NPROC},
	{"RLIMIT_RSS", unix.RLIMIT_RSS},
	{"RLIMIT_RTPRIO", unix.RLIMIT_RTPRIO},
	{"RLIMIT_RTTIME", unix.RLIMIT_RTTIME},
	{"RLIMIT_SIGPENDING", unix.RLIMIT_SIGPENDING},
	{"RLIMIT_STACK", unix.RLIMIT_STACK},
}

// lateRlimit is an rlimit applied just before execve (see setRlimits).
type lateRlimit struct {
	field string
	name  string
	num   int
	lim   syscall.Rlimit
}

// lateRlimitNum reports whether the rlimit numbered r bounds what the Go runtime of
// init itself needs (address space, data, stack, threads): those are lowered only
// just before execve, or the init's own heap growth or thread start fails.
func lateRlimitNum(r int) bool {
	switch r {
	case unix.RLIMIT_AS, unix.RLIMIT_DATA, unix.RLIMIT_STACK, unix.RLIMIT_NPROC:
		return true
	}
	return false
}

// setRlimits validates rls and applies them, except the ones lateRlimitNum names:
// of those it only raises the hard limit now (that needs CAP_SYS_RESOURCE, dropped
// later), and returns them for applyLateRlimits, which lowers them without
// privilege. Errors name the spec field.
func setRlimits(rls []specs.POSIXRlimit) ([]lateRlimit, error) {
	var late []lateRlimit
	for i, rl := range rls {
		field := fmt.Sprintf("process.rlimits[%d]", i)
		r := -1
		for _, t := range rlimitTable {
			if t.name == rl.Type {
				r = t.num
			}
		}
		if r < 0 {
			return nil, inField(field, fmt.Errorf("unknown rlimit %q", rl.Type))
		}
		if rl.Soft > rl.Hard {
			return nil, inField(field, fmt.Errorf("%s soft limit %d is above its hard limit %d", rl.Type, rl.Soft, rl.Hard))
		}
		lim := syscall.Rlimit{Cur: rl.Soft, Max: rl.Hard}
		if lateRlimitNum(r) {
			var cur syscall.Rlimit
			if err := syscall.Getrlimit(r, &cur); err != nil {
				return nil, inField(field, fmt.Errorf("getrlimit %s: %w", rl.Type, err))
			}
			if rl.Hard > cur.Max {
				raise := syscall.Rlimit{Cur: cur.Cur, Max: rl.Hard}
				if err := syscall.Setrlimit(r, &raise); err != nil {
					return nil, inField(field, fmt.Errorf("setrlimit %s hard %d: %w", rl.Type, rl.Hard, err))
				}
			}
			late = append(late, lateRlimit{field: field, name: rl.Type, num: r, lim: lim})
			continue
		}
		// syscall.Setrlimit (not x/sys) so the Go runtime forgets its saved RLIMIT_NOFILE
		// and syscall.Exec does not restore it over ours.
		if err := syscall.Setrlimit(r, &lim); err != nil {
			return nil, inField(field, fmt.Errorf("setrlimit %s soft %d hard %d: %w", rl.Type, rl.Soft, rl.Hard, err))
		}
	}
	return late, nil
}

// applyLateRlimits lowers the rlimits setRlimits left for last. The garbage
// collector is stopped first: a cycle starting now would map memory the new limits
// may refuse.
func applyLateRlimits(late []lateRlimit) error {
	if len(late) == 0 {
		return nil
	}
	debug.SetGCPercent(-1)
	for _, l := range late {
		if err := syscall.Setrlimit(l.num, &l.lim); err != nil {
			return inField(l.field, fmt.Errorf("setrlimit %s soft %d hard %d: %w", l.name, l.lim.Cur, l.lim.Max, err))
		}
	}
	return nil
}

// setUser switches to the spec's numeric user (all threads, via the syscall package).
// An id the process already has is not set again: each set stops every thread of the
// Go runtime in turn, and root staying root (the common case) needs none.
func setUser(u specs.User) error {
	groups := make([]int, len(u.AdditionalGids))
	for i, g := range u.AdditionalGids {
		groups[i] = int(g)
	}
	if cur, err := unix.Getgroups(); err != nil || !slices.Equal(cur, groups) {
		if err := syscall.Setgroups(groups); err != nil {
			return inField("process.user.additionalGids", fmt.Errorf("setgroups %v: %w", groups, err))
		}
	}
	if r, e, s := unix.Getresgid(); r != int(u.GID) || e != int(u.GID) || s != int(u.GID) {
		if err := syscall.Setgid(int(u.GID)); err != nil {
			return inField("process.user.gid", fmt.Errorf("setgid %d: %w", u.GID, err))
		}
	}
	if r, e, s := unix.Getresuid(); r != int(u.UID) || e != int(u.UID) || s != int(u.UID) {
		if err := syscall.Setuid(int(u.UID)); err != nil {
			return inField("process.user.uid", fmt.Errorf("setuid %d: %w", u.UID, err))
		}
	}
	return nil
}

// getenv returns the last value of key in env (execve semantics are the first, but
// shells and Docker let a later entry win).
func getenv(env []string, key string) (string, bool) {
	val, found := "", false
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			val, found = v, true
		}
	}
	return val, found
}

// lookPath resolves the command inside the (new) root as a shell would: a name with a
// slash is used as is, anything else is searched in PATH of env (DefaultPath if unset).
// It runs as the container user, so permissions are the user's.
func lookPath(file string, env []string) (string, error) {
	const field = "process.args[0]"
	if strings.Contains(file, "/") {
		if err := checkExecutable(file); err != nil {
			return "", err
		}
		return file, nil
	}
	path, ok := getenv(env, "PATH")
	if !ok {
		path = DefaultPath
	}
	var notExec error
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, file)
		err := checkExecutable(p)
		if err == nil {
			return p, nil
		}
		var fe *fieldError
		if errors.As(err, &fe) && fe.kind == kindNotExec && notExec == nil {
			notExec = err
		}
	}
	if notExec != nil {
		return "", notExec
	}
	return "", &fieldError{kind: kindNotFound, field: field,
		err: fmt.Errorf("%q: executable file not found in $PATH (%s)", file, path)}
}

// checkExecutable reports kindNotFound or kindNotExec field errors for path.
func checkExecutable(path string) error {
	const field = "process.args[0]"
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
			return &fieldError{kind: kindNotFound, field: field, err: fmt.Errorf("%q: no such file or directory", path)}
		}
		return &fieldError{kind: kindNotExec, field: field, err: err}
	}
	if fi.IsDir() {
		return &fieldError{kind: kindNotExec, field: field, err: fmt.Errorf("%q: is a directory", path)}
	}
	if err := unix.Access(path, unix.X_OK); err != nil {
		return &fieldError{kind: kindNotExec, field: field, err: fmt.Errorf("%q: permission denied", path)}
	}
	return nil
}
