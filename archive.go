package skiff

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/moby/sys/mountinfo"
	godigest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/skiffrt/skiff/errdefs"
)

// Errors of the archive methods (StatPath, CopyFrom, CopyTo, Export).
var (
	// ErrPathNotFound: the path does not exist in the container.
	ErrPathNotFound = errdefs.New(errdefs.ErrNotFound, "no such file or directory in container")
	// ErrNotDirectory: CopyTo's destination is not a directory.
	ErrNotDirectory = errdefs.New(errdefs.ErrInvalidArgument, "extraction point is not a directory")
	// ErrReadOnlyPath: CopyTo's destination is on a read-only file system: the
	// container's read-only root filesystem or a read-only volume.
	ErrReadOnlyPath = errdefs.New(errdefs.ErrPermissionDenied, "container rootfs or volume is marked read-only")
	// ErrArchiveEntry: an entry of the tar given to CopyTo cannot be extracted: it
	// climbs out of the destination (.., a symlink pointing out), or it would replace
	// a directory by a non-directory (or the reverse) with NoOverwriteDirNonDir.
	ErrArchiveEntry = errdefs.New(errdefs.ErrInvalidArgument, "invalid archive entry")
)

// PathStat describes a path in a container, as Docker's X-Docker-Container-Path-Stat
// header does (the JSON field names are Docker's).
type PathStat struct {
	// Name is the last element of the requested path.
	Name string `json:"name"`
	// Size in bytes (of the link itself for a symlink).
	Size int64 `json:"size"`
	// Mode is Go's file mode: permission bits plus os.ModeDir, os.ModeSymlink, ...
	Mode os.FileMode `json:"mode"`
	// Mtime is the modification time.
	Mtime time.Time `json:"mtime"`
	// LinkTarget is, for a symlink, the absolute path in the container it resolves
	// to (every link followed inside the container's root); empty otherwise.
	LinkTarget string `json:"linkTarget"`
}

// CopyToOptions change how CopyTo extracts a tar.
type CopyToOptions struct {
	// NoOverwriteDirNonDir refuses an entry that would replace an existing directory
	// by a non-directory or an existing non-directory by a directory (Docker's
	// noOverwriteDirNonDir). Default: the existing one is replaced.
	NoOverwriteDirNonDir bool
	// CopyUIDGID makes every extracted file owned by the container's user (docker
	// cp -a). Default: the owner recorded in each tar entry.
	CopyUIDGID bool
}

// The path methods (StatPath, CopyFrom, CopyTo) see the container's files as its
// processes do, and never anything else of the host:
//
//   - A created, running or paused container is reached through its init's root
//     (/proc/<pid>/root), with every mount of the container: volumes, binds, tmpfs.
//   - A stopped container is reached through a private mount namespace made for the
//     call: its root filesystem (mounted again there when the host has it unmounted),
//     its bind mounts and volumes on top, read-only where the container has them so.
//     The namespace dies with the last file descriptor of the call.
//
// Every path is resolved inside that root (openat2 RESOLVE_IN_ROOT, or
// filepath-securejoin's emulation), so a symlink of the container, absolute or full
// of "..", never leads out of it; a tar is extracted through an os.Root of the
// destination directory, which refuses entries that climb out of it.

// rootView is an open root directory of a container.
type rootView struct {
	root *os.File // O_PATH directory handle of the container's /
	// ns holds the private mount namespace of a stopped container's view: when its
	// last reference goes, the kernel detaches its mounts (volumes) from root.
	ns *os.File
}

// name is a path naming the root that string-based resolvers may prefix.
func (v *rootView) name() string { return "/proc/self/fd/" + strconv.Itoa(int(v.root.Fd())) }

func (v *rootView) Close() error {
	if v.ns != nil {
		v.ns.Close()
	}
	return v.root.Close()
}

// view opens the container's root as its processes see it (see above).
func (c *Container) view(ctx context.Context, op string) (*rootView, error) {
	st := c.State()
	if c.isRemoved() {
		return nil, fmt.Errorf("%s container %s: %w", op, shortID(c.id), ErrNotFound)
	}
	if st.Status != StatusExited && st.Pid > 0 {
		if v, err := pidRoot(st.Pid); err == nil {
			return v, nil
		}
		// The process ended meanwhile: the stopped view below is the right one.
	}
	v, err := c.e.privateView(ctx, &st, true)
	if err != nil {
		return nil, fmt.Errorf("%s container %s: %w", op, shortID(c.id), err)
	}
	return v, nil
}

// pidRoot opens /proc/<pid>/root. A pid whose root is the host's (the container's
// init is gone and the pid was reused) is refused.
func pidRoot(pid int) (*rootView, error) {
	f, err := os.OpenFile("/proc/"+strconv.Itoa(pid)+"/root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	var a, b unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &a); err != nil {
		f.Close()
		return nil, err
	}
	if err := unix.Stat("/", &b); err != nil || (a.Dev == b.Dev && a.Ino == b.Ino) {
		f.Close()
		return nil, fmt.Errorf("pid %d: root is the host's", pid)
	}
	return &rootView{root: f}, nil
}

// privateView opens the root filesystem of a container that has no process, in a
// mount namespace of its own: the overlay (mounted there if the host has it not),
// read-only when the container's is, and, with mounts, the container's bind mounts
// and volumes on top.
func (e *Engine) privateView(ctx context.Context, st *State, mounts bool) (*rootView, error) {
	spec, err := e.loadSpec(st.ID)
	if err != nil {
		return nil, err
	}
	dir := e.ctrs.path(st.ID)
	merged := filepath.Join(dir, "merged")
	var mount func() error
	if ok, _ := mountinfo.Mounted(merged); !ok {
		layers := make([]godigest.Digest, len(st.Layers))
		for i, l := range st.Layers {
			layers[i] = godigest.Digest(l)
		}
		m, err := e.layers.Prepare(ctx, dir, layers)
		if err != nil {
			return nil, err
		}
		mount = func() error { return m.Mount(merged) }
	}
	var ns *os.File
	f, err := inPrivateMountNS(func() (*os.File, error) {
		if mount != nil {
			if err := mount(); err != nil {
				return nil, err
			}
		}
		if mounts {
			if err := applyViewMounts(merged, spec); err != nil {
				return nil, err
			}
		}
		f, err := os.OpenFile(merged, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, err
		}
		if ns, err = os.Open("/proc/thread-self/ns/mnt"); err != nil {
			f.Close()
			return nil, err
		}
		return f, nil
	})
	if err != nil {
		return nil, err
	}
	return &rootView{root: f, ns: ns}, nil
}

// applyViewMounts makes merged read-only when the container's root is, and mounts the
// container's bind mounts and volumes on it (in the caller's private namespace).
func applyViewMounts(merged string, spec *specs.Spec) error {
	if spec.Root != nil && spec.Root.Readonly {
		if err := unix.Mount(merged, merged, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return &os.PathError{Op: "bind mount", Path: merged, Err: err}
		}
		if err := unix.Mount("", merged, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			return &os.PathError{Op: "remount read-only", Path: merged, Err: err}
		}
	}
	for _, m := range spec.Mounts {
		if m.Type != "bind" {
			continue // proc, sysfs, tmpfs...: nothing of them outlives the container
		}
		target, err := securejoin.SecureJoin(merged, m.Destination)
		if err != nil {
			return err
		}
		if _, err := os.Lstat(target); err != nil {
			continue // never mounted: the container did not start since it was made
		}
		if err := unix.Mount(m.Source, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return &os.PathError{Op: "bind mount " + m.Source, Path: target, Err: err}
		}
		if slices.Contains(m.Options, "ro") {
			if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
				return &os.PathError{Op: "remount read-only", Path: target, Err: err}
			}
		}
	}
	return nil
}

// inPrivateMountNS runs fn on an OS thread of its own in a new mount namespace whose
// mounts propagate nowhere; the thread exits afterwards, and the namespace lives on
// only through the files fn opened (a handle of the namespace itself keeps its mounts
// attached).
func inPrivateMountNS(fn func() (*os.File, error)) (*os.File, error) {
	type result struct {
		f   *os.File
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if err := unix.Unshare(unix.CLONE_FS | unix.CLONE_NEWNS); err != nil {
			ch <- result{err: fmt.Errorf("unshare mount namespace: %w", err)}
			return
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			ch <- result{err: fmt.Errorf("make mounts private: %w", err)}
			return
		}
		f, err := fn()
		ch <- result{f, err}
	}()
	r := <-ch
	return r.f, r.err
}

// containerPath makes an untrusted path absolute in the container, keeping a trailing
// "/" or "/." (they make the last element a directory to look into, as in Docker).
func containerPath(unsafePath string) string {
	p := path.Clean("/" + unsafePath)
	switch {
	case p == "/":
	case strings.HasSuffix(unsafePath, "/."):
		p += "/."
	case strings.HasSuffix(unsafePath, "/"):
		p += "/"
	}
	return p
}

// lookup resolves abs (from containerPath) in the view: it returns a handle of the
// directory holding the last element, the last element ("" or "." when the path
// names that directory itself) and its file info, the last element not followed.
func (v *rootView) lookup(abs string) (*os.File, string, os.FileInfo, error) {
	dir, base := path.Split(abs)
	d, err := pathrs.OpenatInRoot(v.root, dir)
	if err != nil {
		return nil, "", nil, pathError(abs, err)
	}
	var fi os.FileInfo
	if base == "" || base == "." {
		fi, err = os.Stat(fdPath(d, ""))
	} else {
		fi, err = os.Lstat(fdPath(d, base))
	}
	if err != nil {
		d.Close()
		return nil, "", nil, pathError(abs, err)
	}
	return d, base, fi, nil
}

// fdPath names name in the directory d ("" for d itself) through /proc/self/fd.
func fdPath(d *os.File, name string) string {
	p := "/proc/self/fd/" + strconv.Itoa(int(d.Fd()))
	if name != "" && name != "." {
		p += "/" + name
	}
	return p
}

// pathError turns a missing path into ErrPathNotFound.
func pathError(abs string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("%w: %s", ErrPathNotFound, abs)
	}
	return fmt.Errorf("%s: %w", abs, err)
}

// stat builds the PathStat of abs, whose lookup gave fi.
func (v *rootView) stat(abs string, fi os.FileInfo) PathStat {
	name := path.Base(abs)
	if strings.HasSuffix(abs, "/") && abs != "/" {
		name = path.Base(strings.TrimSuffix(abs, "/"))
	}
	ps := PathStat{Name: name, Size: fi.Size(), Mode: fi.Mode(), Mtime: fi.ModTime()}
	if fi.Mode()&os.ModeSymlink != 0 {
		if p, err := securejoin.SecureJoin(v.name(), abs); err == nil {
			ps.LinkTarget = "/" + strings.TrimLeft(strings.TrimPrefix(p, v.name()), "/")
		}
	}
	return ps
}

// StatPath describes path in the container (docker container stat path; HEAD
// /containers/{id}/archive): a final symlink is described, not followed. It fails
// with ErrPathNotFound when the path does not exist.
func (c *Container) StatPath(ctx context.Context, unsafePath string) (PathStat, error) {
	v, err := c.view(ctx, "stat path in")
	if err != nil {
		return PathStat{}, err
	}
	defer v.Close()
	abs := containerPath(unsafePath)
	d, _, fi, err := v.lookup(abs)
	if err != nil {
		return PathStat{}, fmt.Errorf("container %s: %w", shortID(c.id), err)
	}
	d.Close()
	return v.stat(abs, fi), nil
}

// CopyFrom returns path of the container as a tar stream (docker cp CONTAINER:PATH
// -): a file as one entry, a directory with everything below it, each entry named
// from the last element of path (its contents directly when path ends in "/.").
// A final symlink is archived as a symlink unless path ends in "/". The caller closes
// the stream; ctx ending stops it.
func (c *Container) CopyFrom(ctx context.Context, unsafePath string) (io.ReadCloser, PathStat, error) {
	v, err := c.view(ctx, "copy from")
	if err != nil {
		return nil, PathStat{}, err
	}
	abs := containerPath(unsafePath)
	d, base, fi, err := v.lookup(abs)
	if err != nil {
		v.Close()
		return nil, PathStat{}, fmt.Errorf("container %s: %w", shortID(c.id), err)
	}
	ps := v.stat(abs, fi)
	defer d.Close()
	var r *os.Root
	if fi.IsDir() && base != "" && base != "." {
		r, err = os.OpenRoot(fdPath(d, base))
	} else {
		r, err = os.OpenRoot(fdPath(d, ""))
	}
	if err != nil {
		v.Close()
		return nil, PathStat{}, fmt.Errorf("copy from container %s: %w", shortID(c.id), pathError(abs, err))
	}
	name := ps.Name
	if name == "/" {
		name = "."
	}
	return streamTar(ctx, r, fi.IsDir(), base, name, v), ps, nil
}

// Export returns the container's root filesystem as a tar stream (docker export):
// the image's files with the container's changes, without its volumes and mounts.
// The caller closes the stream; ctx ending stops it.
func (c *Container) Export(ctx context.Context) (io.ReadCloser, error) {
	st := c.State()
	if c.isRemoved() {
		return nil, fmt.Errorf("export container %s: %w", shortID(c.id), ErrNotFound)
	}
	v, err := c.e.privateView(ctx, &st, false)
	if err != nil {
		return nil, fmt.Errorf("export container %s: %w", shortID(c.id), err)
	}
	r, err := os.OpenRoot(v.name())
	if err != nil {
		v.Close()
		return nil, fmt.Errorf("export container %s: %w", shortID(c.id), err)
	}
	pr, pw := io.Pipe()
	go func() {
		defer v.Close()
		defer r.Close()
		tw := tar.NewWriter(pw)
		err := writeTree(ctx, tw, r, "")
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr, nil
}
