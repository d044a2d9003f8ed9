package builder

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/sys/user"
	"golang.org/x/sys/unix"
)

// fsWriter writes files into a mounted snapshot, resolving every path
// inside its root: a symlink in the snapshot never leads a write outside.
type fsWriter struct {
	root string
	// owner overrides the owner of everything written (--chown).
	chown    bool
	uid, gid int
	// chmod overrides the permission bits (--chmod).
	hasChmod bool
	chmod    uint32
	dirTimes []dirTime
}

type dirTime struct {
	host  string
	mtime time.Time
}

// meta is what a written entry gets: its type and permission bits, owner,
// mtime, and link target or device number.
type meta struct {
	mode     fs.FileMode
	uid, gid int
	mtime    time.Time
	linkname string
	rdev     uint64
}

func metaOf(fi fs.FileInfo, keepOwner bool) meta {
	m := meta{mode: fi.Mode(), mtime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if keepOwner {
			m.uid, m.gid = int(st.Uid), int(st.Gid)
		}
		m.rdev = st.Rdev
	}
	return m
}

// resolve returns the host path of p (absolute in the snapshot), following
// symlinks inside the root.
func (w *fsWriter) resolve(p string) (string, error) {
	return securejoin.SecureJoin(w.root, p)
}

// mkdirAll creates dir p (absolute in the snapshot) and its missing parents
// (0755, owned by --chown or root) and returns its host path.
func (w *fsWriter) mkdirAll(p string) (string, error) {
	cur := "/"
	host := w.root
	for _, c := range strings.Split(strings.Trim(path.Clean(p), "/"), "/") {
		if c == "" {
			continue
		}
		cur = path.Join(cur, c)
		h, err := w.resolve(cur)
		if err != nil {
			return "", err
		}
		fi, err := os.Lstat(h)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := os.Mkdir(h, 0o755); err != nil {
				return "", err
			}
			if w.chown {
				if err := os.Lchown(h, w.uid, w.gid); err != nil {
					return "", err
				}
			}
		case err != nil:
			return "", err
		case !fi.IsDir():
			return "", fmt.Errorf("%s: %w", cur, syscall.ENOTDIR)
		}
		host = h
	}
	return host, nil
}

// isDir reports whether p (absolute in the snapshot) is a directory,
// following symlinks inside the root.
func (w *fsWriter) isDir(p string) bool {
	h, err := w.resolve(p)
	if err != nil {
		return false
	}
	fi, err := os.Stat(h)
	return err == nil && fi.IsDir()
}

// place creates name in the directory parentHost with metadata m; data gives
// a regular file's content. An existing entry of another kind is replaced; an
// existing directory stays (its metadata is updated) when a directory is
// placed.
func (w *fsWriter) place(parentHost, name string, m meta, data func() (io.ReadCloser, error)) error {
	if name == "" || name == "." || name == ".." || strings.Contains(name, "/") {
		return fmt.Errorf("invalid file name %q", name)
	}
	dst := filepath.Join(parentHost, name)
	if old, err := os.Lstat(dst); err == nil && !(old.IsDir() && m.mode.IsDir()) {
		if err := os.RemoveAll(dst); err != nil {
			return err
		}
	}
	uid, gid := m.uid, m.gid
	if w.chown {
		uid, gid = w.uid, w.gid
	}
	perm := unixPerm(m.mode)
	if w.hasChmod {
		perm = w.chmod
	}
	switch {
	case m.mode.IsDir():
		if err := os.Mkdir(dst, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	case m.mode.IsRegular():
		if err := writeFile(dst, data); err != nil {
			return err
		}
	case m.mode&fs.ModeSymlink != 0:
		if err := os.Symlink(m.linkname, dst); err != nil {
			return err
		}
	case m.mode&fs.ModeNamedPipe != 0:
		if err := unix.Mknod(dst, unix.S_IFIFO|0o600, 0); err != nil {
			return &os.PathError{Op: "mknod", Path: dst, Err: err}
		}
	case m.mode&fs.ModeDevice != 0:
		typ := uint32(unix.S_IFBLK)
		if m.mode&fs.ModeCharDevice != 0 {
			typ = unix.S_IFCHR
		}
		if err := unix.Mknod(dst, typ|0o600, int(m.rdev)); err != nil {
			return &os.PathError{Op: "mknod", Path: dst, Err: err}
		}
	default:
		return nil // sockets are not copied
	}
	if err := os.Lchown(dst, uid, gid); err != nil {
		return err
	}
	if m.mode&fs.ModeSymlink == 0 {
		if err := unix.Chmod(dst, perm); err != nil {
			return &os.PathError{Op: "chmod", Path: dst, Err: err}
		}
	}
	if m.mode.IsDir() {
		w.dirTimes = append(w.dirTimes, dirTime{dst, m.mtime})
		return nil
	}
	return setTimes(dst, m.mtime)
}

func writeFile(dst string, data func() (io.ReadCloser, error)) error {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	if data != nil {
		r, err := data()
		if err != nil {
			f.Close()
			return err
		}
		_, err = io.Copy(f, r)
		r.Close()
		if err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

func setTimes(p string, mtime time.Time) error {
	ts := []unix.Timespec{unix.NsecToTimespec(mtime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "utimes", Path: p, Err: err}
	}
	return nil
}

// finish sets the mtimes of the directories written, deepest first.
func (w *fsWriter) finish() error {
	for i := len(w.dirTimes) - 1; i >= 0; i-- {
		if err := setTimes(w.dirTimes[i].host, w.dirTimes[i].mtime); err != nil {
			return err
		}
	}
	w.dirTimes = nil
	return nil
}

func unixPerm(m fs.FileMode) uint32 {
	p := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		p |= unix.S_ISUID
	}
	if m&fs.ModeSetgid != 0 {
		p |= unix.S_ISGID
	}
	if m&fs.ModeSticky != 0 {
		p |= unix.S_ISVTX
	}
	return p
}

// parseChmod parses --chmod (octal).
func parseChmod(s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil || v > 0o7777 {
		return 0, fmt.Errorf("invalid --chmod %q: want an octal mode such as 0755", s)
	}
	return uint32(v), nil
}

// resolveChown resolves --chown=user[:group] in the snapshot's /etc/passwd
// and /etc/group. Without a group the gid is the uid, as in Docker.
func resolveChown(root, spec string) (uid, gid int, err error) {
	u, g, hasGroup := strings.Cut(spec, ":")
	if uid, err = lookupID(root, "/etc/passwd", u); err != nil {
		return 0, 0, fmt.Errorf("invalid --chown %q: %w", spec, err)
	}
	if !hasGroup {
		return uid, uid, nil
	}
	if gid, err = lookupID(root, "/etc/group", g); err != nil {
		return 0, 0, fmt.Errorf("invalid --chown %q: %w", spec, err)
	}
	return uid, gid, nil
}

func lookupID(root, file, name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil && n >= 0 {
		return n, nil
	}
	p, err := securejoin.SecureJoin(root, file)
	if err != nil {
		return 0, err
	}
	if file == "/etc/passwd" {
		us, err := user.ParsePasswdFileFilter(p, func(u user.User) bool { return u.Name == name })
		if err != nil || len(us) == 0 {
			return 0, fmt.Errorf("no user %q in %s", name, file)
		}
		return us[0].Uid, nil
	}
	gs, err := user.ParseGroupFileFilter(p, func(g user.Group) bool { return g.Name == name })
	if err != nil || len(gs) == 0 {
		return 0, fmt.Errorf("no group %q in %s", name, file)
	}
	return gs[0].Gid, nil
}
