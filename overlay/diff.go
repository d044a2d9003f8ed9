package overlay

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// DiffOptions tune Diff.
type DiffOptions struct {
	// SourceDateEpoch, when not zero, clamps every entry's mtime that is later
	// than it down to it, as SOURCE_DATE_EPOCH does for reproducible builds.
	// Zero keeps mtimes as they are (truncated to whole seconds, like every
	// mtime Diff writes).
	SourceDateEpoch time.Time
}

// Diff writes to w an uncompressed OCI layer tar of the changes recorded in
// upper, the upper dir of an overlay over lowers (lower dirs, bottom → top;
// may be nil). It is what build (RUN) and commit use to turn a container's
// changes into a layer.
//
//   - Overlay whiteouts (0:0 character devices) become ".wh.<name>" entries;
//     a whiteout of a path that no lower has is dropped.
//   - Opaque directories (trusted.overlay.opaque=y) become the directory entry
//     followed by "<dir>/.wh..wh..opq".
//   - Entries come in a stable order (depth first, names sorted, every
//     directory before its contents); names carry no leading "./"; uid/gid
//     are numeric only; mtimes are whole seconds, clamped by
//     opts.SourceDateEpoch; atime/ctime are not recorded. Files linked more
//     than once inside upper become hard links to the first path.
//   - Extended attributes are kept, except the overlay's own
//     (trusted.overlay.*, user.overlay.*).
//
// The walk opens every component relative to its parent with O_NOFOLLOW, so a
// running container swapping a directory for a symlink cannot make Diff read
// files outside upper. upper should not change during Diff (stop or freeze the
// container): a file whose size changes underneath fails the Diff.
func Diff(ctx context.Context, lowers []string, upper string, w io.Writer, opts DiffOptions) error {
	rootFd, err := unix.Open(upper, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("diff %s: %w", upper, &os.PathError{Op: "open", Path: upper, Err: err})
	}
	defer unix.Close(rootFd)
	d := &differ{
		ctx:   ctx,
		opts:  opts,
		links: map[inode]string{},
		buf:   make([]byte, readBufSize),
	}
	for _, l := range lowers {
		fd, err := unix.Open(l, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("diff %s: lower %s: %w", upper, l, err)
		}
		defer unix.Close(fd)
		d.lowers = append(d.lowers, fd)
	}
	bw := bufio.NewWriterSize(w, readBufSize)
	d.tw = tar.NewWriter(bw)
	if err := d.walk(rootFd, ""); err != nil {
		return fmt.Errorf("diff %s: %w", upper, err)
	}
	if err := d.tw.Close(); err != nil {
		return fmt.Errorf("diff %s: %w", upper, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("diff %s: %w", upper, err)
	}
	return nil
}

type inode struct{ dev, ino uint64 }

type differ struct {
	ctx    context.Context
	opts   DiffOptions
	tw     *tar.Writer
	lowers []int
	links  map[inode]string
	buf    []byte
}

type child struct {
	name    string // on disk
	tarName string // sort key: the name it gets in the tar
	st      unix.Stat_t
}

// walk emits the contents of directory dirfd, whose path in the tar is dir
// ("" for the root).
func (d *differ) walk(dirfd int, dir string) error {
	if err := d.ctx.Err(); err != nil {
		return err
	}
	names, err := readDirNames(dirfd)
	if err != nil {
		name := dir
		if name == "" {
			name = "."
		}
		return fmt.Errorf("read dir %q: %w", name, err)
	}
	kids := make([]child, 0, len(names))
	for _, n := range names {
		c := child{name: n, tarName: n}
		if err := unix.Fstatat(dirfd, n, &c.st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue
			}
			return fmt.Errorf("stat %q: %w", path.Join(dir, n), err)
		}
		if isWhiteout(&c.st) {
			c.tarName = whiteoutPrefix + n
		}
		kids = append(kids, c)
	}
	slices.SortFunc(kids, func(a, b child) int { return strings.Compare(a.tarName, b.tarName) })
	for _, c := range kids {
		if err := d.entry(dirfd, dir, c); err != nil {
			return err
		}
	}
	return nil
}

func isWhiteout(st *unix.Stat_t) bool {
	return st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0
}

func (d *differ) entry(dirfd int, dir string, c child) error {
	p := path.Join(dir, c.name)
	mtime := time.Unix(c.st.Mtim.Sec, 0) // whole seconds, truncated
	if !d.opts.SourceDateEpoch.IsZero() && mtime.After(d.opts.SourceDateEpoch) {
		mtime = d.opts.SourceDateEpoch
	}
	hdr := &tar.Header{
		Name:    p,
		Mode:    int64(c.st.Mode & 0o7777),
		Uid:     int(c.st.Uid),
		Gid:     int(c.st.Gid),
		ModTime: mtime,
	}
	if isWhiteout(&c.st) {
		if !d.inLowers(p) {
			return nil
		}
		hdr.Name = path.Join(dir, whiteoutPrefix+c.name)
		hdr.Typeflag, hdr.Mode, hdr.Uid, hdr.Gid = tar.TypeReg, 0, 0, 0
		return d.tw.WriteHeader(hdr)
	}
	switch c.st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		fd, err := unix.Openat(dirfd, c.name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %q: %w", p, err)
		}
		defer unix.Close(fd)
		opaque := false
		hdr.Typeflag, hdr.Name = tar.TypeDir, p+"/"
		hdr.PAXRecords, opaque, err = fdXattrs(fd)
		if err != nil {
			return fmt.Errorf("xattrs of %q: %w", p, err)
		}
		if err := d.tw.WriteHeader(hdr); err != nil {
			return err
		}
		if opaque {
			if err := d.tw.WriteHeader(&tar.Header{Name: path.Join(p, opaqueMarker), Typeflag: tar.TypeReg, ModTime: mtime}); err != nil {
				return err
			}
		}
		return d.walk(fd, p)
	case unix.S_IFREG:
		return d.file(dirfd, c, hdr)
	case unix.S_IFLNK:
		target, err := readlinkat(dirfd, c.name)
		if err != nil {
			return fmt.Errorf("readlink %q: %w", p, err)
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
	case unix.S_IFCHR, unix.S_IFBLK:
		hdr.Typeflag = tar.TypeChar
		if c.st.Mode&unix.S_IFMT == unix.S_IFBLK {
			hdr.Typeflag = tar.TypeBlock
		}
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(c.st.Rdev)), int64(unix.Minor(c.st.Rdev))
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	default:
		return nil // sockets are not layer content
	}
	recs, _, err := pathXattrs(procPath(dirfd, c.name))
	if err != nil {
		return fmt.Errorf("xattrs of %q: %w", p, err)
	}
	hdr.PAXRecords = recs
	return d.tw.WriteHeader(hdr)
}

func (d *differ) file(dirfd int, c child, hdr *tar.Header) error {
	p := hdr.Name
	if c.st.Nlink > 1 {
		key := inode{uint64(c.st.Dev), c.st.Ino}
		if first, ok := d.links[key]; ok {
			hdr.Typeflag, hdr.Linkname = tar.TypeLink, first
			return d.tw.WriteHeader(hdr)
		}
		d.links[key] = p
	}
	fd, err := unix.Openat(dirfd, c.name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %q: %w", p, err)
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat %q: %w", p, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Ino != c.st.Ino {
		return fmt.Errorf("%q changed during diff", p)
	}
	hdr.Typeflag, hdr.Size = tar.TypeReg, st.Size
	hdr.PAXRecords, _, err = fdXattrs(fd)
	if err != nil {
		return fmt.Errorf("xattrs of %q: %w", p, err)
	}
	if err := d.tw.WriteHeader(hdr); err != nil {
		return err
	}
	n, err := io.CopyBuffer(struct{ io.Writer }{d.tw}, io.LimitReader(f, st.Size), d.buf)
	if err != nil {
		return fmt.Errorf("read %q: %w", p, err)
	}
	if n != st.Size {
		return fmt.Errorf("%q shrank during diff (%d of %d bytes)", p, n, st.Size)
	}
	return d.ctx.Err()
}

// inLowers reports whether p (relative) may exist in some lower. Without
// lowers, or when unsure (a symlink on the way), it says yes.
func (d *differ) inLowers(p string) bool {
	if len(d.lowers) == 0 {
		return true
	}
	how := &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS,
	}
	for _, l := range d.lowers {
		fd, err := unix.Openat2(l, p, how)
		if err == nil {
			unix.Close(fd)
			return true
		}
		if !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENOTDIR) {
			return true
		}
	}
	return false
}

func readDirNames(dirfd int) ([]string, error) {
	fd, err := unix.Openat(dirfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), ".")
	defer f.Close()
	return f.Readdirnames(-1)
}

func readlinkat(dirfd int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

// overlayXattr reports xattrs that belong to the overlay, not to the content.
func overlayXattr(k string) bool {
	return strings.HasPrefix(k, "trusted.overlay.") || strings.HasPrefix(k, "user.overlay.")
}

func fdXattrs(fd int) (map[string]string, bool, error) {
	return collectXattrs(
		func(b []byte) (int, error) { return unix.Flistxattr(fd, b) },
		func(k string, b []byte) (int, error) { return unix.Fgetxattr(fd, k, b) })
}

func pathXattrs(p string) (map[string]string, bool, error) {
	return collectXattrs(
		func(b []byte) (int, error) { return unix.Llistxattr(p, b) },
		func(k string, b []byte) (int, error) { return unix.Lgetxattr(p, k, b) })
}

// collectXattrs returns the content xattrs as PAX records and whether the
// overlay marked the directory opaque.
func collectXattrs(list func([]byte) (int, error), get func(string, []byte) (int, error)) (map[string]string, bool, error) {
	buf := make([]byte, 1024)
	var n int
	var err error
	for {
		n, err = list(buf)
		if errors.Is(err, unix.ERANGE) {
			buf = make([]byte, len(buf)*4)
			continue
		}
		break
	}
	if errors.Is(err, unix.ENOTSUP) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var recs map[string]string
	opaque := false
	for _, k := range bytes.Split(buf[:n], []byte{0}) {
		if len(k) == 0 {
			continue
		}
		key := string(k)
		v, err := getXattr(get, key)
		if errors.Is(err, unix.ENODATA) {
			continue
		}
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", key, err)
		}
		if overlayXattr(key) {
			if strings.HasSuffix(key, ".overlay.opaque") && v == "y" {
				opaque = true
			}
			continue
		}
		if recs == nil {
			recs = map[string]string{}
		}
		recs[paxXattrPrefix+key] = v
	}
	return recs, opaque, nil
}

func getXattr(get func(string, []byte) (int, error), key string) (string, error) {
	buf := make([]byte, 256)
	for {
		n, err := get(key, buf)
		if errors.Is(err, unix.ERANGE) {
			buf = make([]byte, len(buf)*4)
			continue
		}
		if err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
}
