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
	"strings"
	"syscall"
	"time"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// tarWriter writes files of one os.Root to a tar, hard links as link entries.
type tarWriter struct {
	tw    *tar.Writer
	r     *os.Root
	links map[[2]uint64]string // dev, ino of a file with several links → its entry name
}

func newTarWriter(tw *tar.Writer, r *os.Root) *tarWriter {
	return &tarWriter{tw: tw, r: r, links: map[[2]uint64]string{}}
}

// noNames keeps archive/tar from looking owners up in the host's user database.
type noNames struct{ fs.FileInfo }

func (noNames) Uname() (string, error) { return "", nil }
func (noNames) Gname() (string, error) { return "", nil }

// pseudoFS are the file systems whose mount points a tree is archived without their
// contents (the kernel's views, not files of the container).
var pseudoFS = map[int64]bool{
	unix.PROC_SUPER_MAGIC: true, unix.SYSFS_MAGIC: true, unix.CGROUP_SUPER_MAGIC: true,
	unix.CGROUP2_SUPER_MAGIC: true, unix.DEVPTS_SUPER_MAGIC: true, 0x19800202: true, // the last is mqueue
}

// writeTree archives the whole root, entries named under prefix ("" for bare names).
func writeTree(ctx context.Context, tw *tar.Writer, r *os.Root, prefix string) error {
	w := newTarWriter(tw, r)
	rootFi, err := r.Lstat(".")
	if err != nil {
		return err
	}
	rootDev := devOf(rootFi)
	return fs.WalkDir(r.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := path.Join(prefix, p)
		if prefix == "." && p != "." {
			name = "./" + p // a directory's contents are "./x", as Docker's clients rebase them
		}
		if p == "." && prefix == "" {
			return nil
		}
		if err := w.entry(ctx, p, name); err != nil {
			return err
		}
		if d.IsDir() && p != "." {
			if fi, err := r.Lstat(p); err == nil && devOf(fi) != rootDev && w.isPseudo(p) {
				return fs.SkipDir
			}
		}
		return nil
	})
}

func devOf(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Dev
	}
	return 0
}

// isPseudo reports whether directory p is the mount point of a kernel pseudo file
// system.
func (w *tarWriter) isPseudo(p string) bool {
	f, err := w.r.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &sfs); err != nil {
		return false
	}
	return pseudoFS[int64(sfs.Type)]
}

// entry writes the file p of the root as the tar entry name.
func (w *tarWriter) entry(ctx context.Context, p, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	fi, err := w.r.Lstat(p)
	if err != nil {
		return err
	}
	if fi.Mode()&os.ModeSocket != 0 {
		return nil // tar has no sockets; Docker leaves them out too
	}
	link := ""
	if fi.Mode()&os.ModeSymlink != 0 {
		if link, err = w.r.Readlink(p); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(noNames{fi}, link)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	hdr.Name = name
	if fi.IsDir() && !strings.HasSuffix(hdr.Name, "/") {
		hdr.Name += "/"
	}
	hdr.Format = tar.FormatPAX
	st, _ := fi.Sys().(*syscall.Stat_t)
	if fi.Mode().IsRegular() && st != nil && st.Nlink > 1 {
		key := [2]uint64{st.Dev, st.Ino}
		if first, ok := w.links[key]; ok {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			return w.tw.WriteHeader(hdr)
		}
		w.links[key] = hdr.Name
	}
	if !fi.Mode().IsRegular() {
		return w.tw.WriteHeader(hdr)
	}
	f, err := w.r.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := w.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := io.CopyN(w.tw, f, hdr.Size); err != nil {
		return fmt.Errorf("%s: %w", p, err) // it shrank while read: the tar cannot be finished
	}
	return nil
}

// CopyTo extracts the tar stream r into directory dir of the container (docker cp -
// CONTAINER:DIR; PUT /containers/{id}/archive). dir must exist (a symlink to a
// directory is followed); it fails with ErrPathNotFound when it does not,
// ErrNotDirectory when it is no directory and ErrReadOnlyPath when it lies on the
// container's read-only root filesystem or a read-only volume. An entry that climbs
// out of dir (by "..", or through a symlink, absolute or relative, that points out
// of it) fails with ErrArchiveEntry; what was extracted before it stays.
func (c *Container) CopyTo(ctx context.Context, dir string, r io.Reader, opts CopyToOptions) error {
	v, err := c.view(ctx, "copy to")
	if err != nil {
		return err
	}
	defer v.Close()
	fail := func(err error) error { return fmt.Errorf("copy to container %s: %w", shortID(c.id), err) }
	abs := containerPath(dir)
	d, err := pathrs.OpenatInRoot(v.root, abs)
	if err != nil {
		return fail(pathError(abs, err))
	}
	defer d.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(d.Fd()), &st); err != nil {
		return fail(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fail(fmt.Errorf("%w: %s", ErrNotDirectory, abs))
	}
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(int(d.Fd()), &sfs); err != nil {
		return fail(err)
	}
	if sfs.Flags&unix.ST_RDONLY != 0 {
		return fail(fmt.Errorf("%w: %s", ErrReadOnlyPath, abs))
	}
	root, err := os.OpenRoot(fdPath(d, ""))
	if err != nil {
		return fail(err)
	}
	defer root.Close()
	x := &extractor{r: root, opts: opts, uid: -1, gid: -1}
	if opts.CopyUIDGID {
		spec, err := c.e.loadSpec(c.id)
		if err != nil {
			return fail(err)
		}
		if spec.Process != nil {
			x.uid, x.gid = int(spec.Process.User.UID), int(spec.Process.User.GID)
		}
	}
	if err := x.extract(ctx, r); err != nil {
		return fail(err)
	}
	return nil
}

// extractor writes tar entries into one os.Root.
type extractor struct {
	r        *os.Root
	opts     CopyToOptions
	uid, gid int // owner of every file (CopyUIDGID), -1 for the entries' own
	dirs     []*tar.Header
}

// entryName turns an untrusted entry name into a clean name relative to the root; a
// name climbing above it is refused.
func entryName(unsafeName string) (string, error) {
	if strings.Contains(unsafeName, "\x00") {
		return "", fmt.Errorf("%w: %q contains NUL", ErrArchiveEntry, unsafeName)
	}
	rel := path.Clean(strings.TrimLeft(unsafeName, "/"))
	if rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("%w: %q climbs out of the destination", ErrArchiveEntry, unsafeName)
	}
	return rel, nil
}

func (x *extractor) extract(ctx context.Context, r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrArchiveEntry, err)
		}
		if err := x.entry(hdr, tr); err != nil {
			return entryError(hdr.Name, err)
		}
	}
	// Directories last, deepest first: extracting into them changed their mtime.
	for i := len(x.dirs) - 1; i >= 0; i-- {
		hdr := x.dirs[i]
		name, _ := entryName(hdr.Name)
		if err := x.r.Chtimes(name, accessTime(hdr), hdr.ModTime); err != nil {
			return entryError(hdr.Name, err)
		}
	}
	return nil
}

// entryError classes an extraction error: a read-only file system as ErrReadOnlyPath,
// a name the root refuses (it escapes) as ErrArchiveEntry.
func entryError(name string, err error) error {
	switch {
	case errors.Is(err, ErrArchiveEntry), errors.Is(err, ErrReadOnlyPath):
		return err
	case errors.Is(err, syscall.EROFS):
		return fmt.Errorf("%w: %q: %w", ErrReadOnlyPath, name, err)
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EIO), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("%q: %w", name, err)
	}
	return fmt.Errorf("%w: %q: %w", ErrArchiveEntry, name, err)
}

func (x *extractor) entry(hdr *tar.Header, tr *tar.Reader) error {
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader, tar.TypeXHeader:
		return nil
	}
	name, err := entryName(hdr.Name)
	if err != nil {
		return err
	}
	if name == "." {
		return nil // the destination itself keeps its owner and mode
	}
	if parent := path.Dir(name); parent != "." {
		if err := x.r.MkdirAll(parent, 0o755); err != nil {
			return err
		}
	}
	isDir := hdr.Typeflag == tar.TypeDir
	if fi, err := x.r.Lstat(name); err == nil {
		if x.opts.NoOverwriteDirNonDir && fi.IsDir() && !isDir {
			return fmt.Errorf("%w: cannot overwrite directory %q with non-directory", ErrArchiveEntry, name)
		}
		if x.opts.NoOverwriteDirNonDir && !fi.IsDir() && isDir {
			return fmt.Errorf("%w: cannot overwrite non-directory %q with directory", ErrArchiveEntry, name)
		}
		if !(fi.IsDir() && isDir) {
			if err := x.r.RemoveAll(name); err != nil {
				return err
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	mode := hdr.FileInfo().Mode()
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := x.r.Mkdir(name, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	case tar.TypeReg, tar.TypeRegA:
		f, err := x.r.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	case tar.TypeSymlink:
		// The target is data: it is resolved inside the container whenever followed.
		if err := x.r.Symlink(hdr.Linkname, name); err != nil {
			return err
		}
	case tar.TypeLink:
		target, err := entryName(hdr.Linkname)
		if err != nil {
			return err
		}
		if err := x.r.Link(target, name); err != nil {
			return err
		}
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		if err := x.mknod(name, hdr); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: type %q not supported", ErrArchiveEntry, hdr.Typeflag)
	}
	uid, gid := hdr.Uid, hdr.Gid
	if x.uid >= 0 {
		uid, gid = x.uid, x.gid
	}
	if err := x.r.Lchown(name, uid, gid); err != nil {
		return err
	}
	if hdr.Typeflag == tar.TypeSymlink {
		return nil
	}
	if err := x.r.Chmod(name, mode&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
		return err
	}
	if isDir {
		x.dirs = append(x.dirs, hdr)
		return nil
	}
	return x.r.Chtimes(name, accessTime(hdr), hdr.ModTime)
}

func accessTime(hdr *tar.Header) time.Time {
	if hdr.AccessTime.IsZero() {
		return hdr.ModTime
	}
	return hdr.AccessTime
}

// mknod makes a device node or fifo in its parent, opened inside the root.
func (x *extractor) mknod(name string, hdr *tar.Header) error {
	parent, err := x.r.Open(path.Dir(name))
	if err != nil {
		return err
	}
	defer parent.Close()
	mode := uint32(hdr.Mode & 0o7777)
	switch hdr.Typeflag {
	case tar.TypeChar:
		mode |= unix.S_IFCHR
	case tar.TypeBlock:
		mode |= unix.S_IFBLK
	default:
		mode |= unix.S_IFIFO
	}
	dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
	if err := unix.Mknodat(int(parent.Fd()), path.Base(name), mode, int(dev)); err != nil {
		return &os.PathError{Op: "mknod", Path: name, Err: err}
	}
	return nil
}

// ExtractOptions change how ExtractTar extracts.
type ExtractOptions struct {
	// NoOverwriteDirNonDir: as CopyToOptions.NoOverwriteDirNonDir.
	NoOverwriteDirNonDir bool
}

// ExtractTar extracts the tar stream r into the host directory dir with CopyTo's
// rules: every entry stays inside dir (one that climbs out, by ".." or through a
// symlink, fails with ErrArchiveEntry), and owners are the entries' own. It is the
// host side of docker cp CONTAINER:PATH HOSTPATH.
func ExtractTar(ctx context.Context, dir string, r io.Reader, opts ExtractOptions) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	x := &extractor{r: root, opts: CopyToOptions{NoOverwriteDirNonDir: opts.NoOverwriteDirNonDir}, uid: -1, gid: -1}
	if os.Geteuid() != 0 {
		x.uid, x.gid = os.Geteuid(), os.Getegid() // only root may give files away
	}
	if err := x.extract(ctx, r); err != nil {
		return fmt.Errorf("extract into %s: %w", dir, err)
	}
	return nil
}

// TarPath returns the host file or directory at hostPath as a tar stream whose
// entries are named from name (a directory's as name/..., its contents directly when
// name is "."): the host side of docker cp HOSTPATH CONTAINER:PATH. A symlink at
// hostPath is archived as a link. The caller closes the stream.
func TarPath(ctx context.Context, hostPath, name string) (io.ReadCloser, error) {
	fi, err := os.Lstat(hostPath)
	if err != nil {
		return nil, err
	}
	var r *os.Root
	base := "."
	if fi.IsDir() {
		r, err = os.OpenRoot(hostPath)
	} else {
		r, err = os.OpenRoot(filepath.Dir(hostPath))
		base = filepath.Base(hostPath)
	}
	if err != nil {
		return nil, err
	}
	return streamTar(ctx, r, fi.IsDir(), base, name), nil
}

// streamTar returns a tar stream written by a goroutine: the whole tree of root named
// name when dir, else the one entry base of root named name. The goroutine closes
// root, then each of also, when it is done.
func streamTar(ctx context.Context, root *os.Root, dir bool, base, name string, also ...io.Closer) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		for _, c := range also {
			defer c.Close()
		}
		defer root.Close()
		tw := tar.NewWriter(pw)
		var err error
		if dir {
			err = writeTree(ctx, tw, root, name)
		} else {
			err = newTarWriter(tw, root).entry(ctx, base, name)
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr
}
