package overlay

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// cleanName turns an untrusted tar name into a clean path relative to the
// layer root ("." for the root itself). Leading slashes are dropped (the name
// is taken relative to the root, as tar does); a name that climbs above the
// root is refused.
func cleanName(unsafeName string) (string, error) {
	c := path.Clean("/" + unsafeName)
	if strings.Contains(unsafeName, "\x00") {
		return "", fmt.Errorf("%w: %q contains NUL", ErrUnsafePath, unsafeName)
	}
	// Clean of "/"+name clamps "..": compare with a clean of the name itself
	// to see whether it tried to climb.
	rel := path.Clean(strings.TrimLeft(unsafeName, "/"))
	if rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("%w: %q climbs out of the layer root", ErrUnsafePath, unsafeName)
	}
	if c == "/" {
		return ".", nil
	}
	return c[1:], nil
}

// resolver opens directories inside one root. Every lookup goes through
// openat2(RESOLVE_IN_ROOT) (or pathrs-lite when openat2 is missing), so
// symlinks are resolved as if root were "/". It caches the last directory
// looked up; any removal in the tree must call invalidate.
type resolver struct {
	root      *os.File // O_PATH handle of the root
	rootFd    int
	noOpenat2 bool

	cachePath string
	cacheFd   int
	cacheIno  uint64
	rootIno   uint64

	// lastIno is the inode of the directory the last dir call returned.
	lastIno uint64
}

// forcePathrs makes resolvers skip openat2 and use pathrs-lite (tests run the
// hostile-tar table both ways).
var forcePathrs = false

func newResolver(root string) (*resolver, error) {
	f, err := os.OpenFile(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, err
	}
	return &resolver{root: f, rootFd: int(f.Fd()), cacheFd: -1, noOpenat2: forcePathrs, rootIno: st.Ino}, nil
}

func (r *resolver) close() {
	r.drop()
	r.root.Close()
}

// invalidate forgets the cached lookup (the tree changed) but keeps its fd
// open: the caller may still be using it for the current entry.
func (r *resolver) invalidate() { r.cachePath = "" }

func (r *resolver) drop() {
	if r.cacheFd >= 0 {
		unix.Close(r.cacheFd)
	}
	r.cacheFd, r.cachePath = -1, ""
}

// dir returns a handle (O_PATH) of directory p (clean, relative to root),
// creating missing directories (mode 0755) inside the root when create is set.
// The handle is owned by the resolver: valid until the next call of dir.
func (r *resolver) dir(p string, create bool) (int, error) {
	if p == "." {
		r.lastIno = r.rootIno
		return r.rootFd, nil
	}
	if r.cacheFd >= 0 && r.cachePath == p {
		r.lastIno = r.cacheIno
		return r.cacheFd, nil
	}
	r.drop()
	fd, err := r.open(p)
	if errors.Is(err, unix.ENOENT) && create {
		var f *os.File
		f, err = pathrs.MkdirAllHandle(r.root, p, 0o755)
		if err == nil {
			fd, err = unix.Dup(int(f.Fd()))
			f.Close()
		}
	}
	var st unix.Stat_t
	if err == nil {
		if err = unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
		}
	}
	if err != nil {
		return -1, &os.PathError{Op: "resolve in layer", Path: p, Err: err}
	}
	r.cachePath, r.cacheFd, r.cacheIno, r.lastIno = p, fd, st.Ino, st.Ino
	return fd, nil
}

// open resolves p inside the root and returns a new O_PATH directory fd.
func (r *resolver) open(p string) (int, error) {
	if !r.noOpenat2 {
		how := &unix.OpenHow{
			Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
		}
		for {
			fd, err := unix.Openat2(r.rootFd, p, how)
			if err == unix.EINTR || err == unix.EAGAIN {
				continue
			}
			if err == unix.ENOSYS {
				r.noOpenat2 = true
				break
			}
			return fd, err
		}
	}
	f, err := pathrs.OpenatInRoot(r.root, p)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return -1, pe.Err
		}
		return -1, err
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return -1, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return -1, unix.ENOTDIR
	}
	return unix.Dup(int(f.Fd()))
}

// procPath names entry name in the directory fd for the l*xattr calls, which
// have no *at form. /proc/self/fd/N is the directory itself, and the last
// component is not followed by the l* calls.
func procPath(dirfd int, name string) string {
	return fmt.Sprintf("/proc/self/fd/%d/%s", dirfd, name)
}

// setxattrAt sets an xattr on dirfd/name without following a symlink there;
// name "." means the directory itself.
func setxattrAt(dirfd int, name, key string, value []byte) error {
	if name == "." {
		// The magic link must be followed to reach the directory.
		return unix.Setxattr(fmt.Sprintf("/proc/self/fd/%d", dirfd), key, value, 0)
	}
	return unix.Lsetxattr(procPath(dirfd, name), key, value, 0)
}
