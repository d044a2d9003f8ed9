package overlay

import (
	"archive/tar"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	opaqueMarker   = ".wh..wh..opq"
	opaqueXattr    = "trusted.overlay.opaque"
	// userOpaqueXattr marks opaque dirs of stores used from a user namespace
	// (overlay option userxattr).
	userOpaqueXattr = "user.overlay.opaque"
	paxXattrPrefix  = "SCHILY.xattr."
	// libarchive (bsdtar) writes LIBARCHIVE.xattr.<url-escaped name>=<base64>.
	paxLibarchivePrefix = "LIBARCHIVE.xattr."
)

// extractor applies tar entries to one layer root.
type extractor struct {
	ctx  context.Context
	res  *resolver
	buf  []byte
	dirs []dirTimes // directory times, applied after all contents
	w    *writers   // parallel writers of small files
	// opaqueKey is the xattr marking opaque directories; userns: unprivileged
	// (user namespace) rules: device nodes other than whiteouts are skipped.
	opaqueKey string
	userns    bool
}

type dirTimes struct {
	name         string
	ino          uint64 // the directory the times belong to
	atime, mtime time.Time
}

// extract unpacks the tar stream r into root (an empty directory).
func extract(ctx context.Context, root string, r io.Reader) error {
	return extractWith(ctx, root, r, false)
}

// extractWith is extract; userns selects the user.overlay.* opaque marker and
// skips device nodes (not creatable in a user namespace).
func extractWith(ctx context.Context, root string, r io.Reader, userns bool) error {
	res, err := newResolver(root)
	if err != nil {
		return err
	}
	defer res.close()
	x := &extractor{ctx: ctx, res: res, buf: make([]byte, readBufSize), w: newWriters(), opaqueKey: opaqueXattr, userns: userns}
	if userns {
		x.opaqueKey = userOpaqueXattr
	}
	defer x.w.stop() // on error paths: no writer may outlive extract
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := x.w.failed(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		if err := x.entry(hdr, tr); err != nil {
			return fmt.Errorf("tar entry %q: %w", hdr.Name, err)
		}
	}
	if err := x.w.barrier(); err != nil {
		return err
	}
	// Directory times last: creating entries changed them. Forward order, so
	// a directory listed twice gets its last entry's times (utimensat on a
	// dir leaves its parent alone). A directory replaced since (by a later
	// entry of another type, or through a symlink) is skipped.
	for _, d := range x.dirs {
		dirfd, base, err := x.parent(d.name, false)
		if err != nil {
			slog.Debug("overlay: directory gone before its times were set", "name", d.name, "err", err)
			continue
		}
		var st unix.Stat_t
		if err := unix.Fstatat(dirfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil ||
			st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Ino != d.ino {
			continue
		}
		if err := setTimes(dirfd, base, d.atime, d.mtime); err != nil {
			return fmt.Errorf("set times of %q: %w", d.name, err)
		}
	}
	return nil
}

// parent resolves the parent of clean name p and returns its fd and the
// final component ("." for the root itself, whose "parent" is the root).
func (x *extractor) parent(p string, create bool) (int, string, error) {
	if p == "." {
		return x.res.rootFd, ".", nil
	}
	dir, base := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		dir = "."
	}
	fd, err := x.res.dir(dir, create)
	return fd, base, err
}

func (x *extractor) entry(hdr *tar.Header, tr *tar.Reader) error {
	name, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if name == "." && hdr.Typeflag != tar.TypeDir {
		return fmt.Errorf("%w: the layer root can only be a directory, not type %q", ErrUnsafePath, hdr.Typeflag)
	}
	dirfd, base, err := x.parent(name, true)
	if err != nil {
		return err
	}

	// Whiteouts.
	if strings.HasPrefix(base, whiteoutPrefix) {
		switch {
		case base == opaqueMarker:
			return x.opaque(path.Dir(name))
		case strings.HasPrefix(base, whiteoutMeta):
			slog.Debug("overlay: skipping whiteout metadata entry", "name", hdr.Name)
			return nil
		default:
			target := base[len(whiteoutPrefix):]
			if err := x.waitFor(entryKey{x.res.lastIno, target}); err != nil {
				return err
			}
			return x.whiteout(dirfd, target)
		}
	}
	key := entryKey{x.res.lastIno, base}
	if err := x.waitFor(key); err != nil {
		return err
	}

	switch hdr.Typeflag {
	case tar.TypeDir:
		return x.mkdir(dirfd, base, name, hdr)
	case tar.TypeReg, tar.TypeRegA:
		if isSparse(hdr) {
			// The reader would expand declared holes into zeros: a few
			// bytes of tar could claim terabytes. The OCI image spec says
			// layers SHOULD NOT use sparse files.
			return fmt.Errorf("%w: sparse file", ErrUnsupportedEntry)
		}
		if hdr.Size <= smallFileMax && parallelWrites {
			return x.smallFile(dirfd, base, key, hdr, tr)
		}
		return x.file(dirfd, base, hdr, tr)
	case tar.TypeSymlink:
		if err := x.create(dirfd, base, func() error { return unix.Symlinkat(hdr.Linkname, dirfd, base) }); err != nil {
			return err
		}
	case tar.TypeLink:
		if err := x.hardlink(dirfd, base, hdr.Linkname); err != nil {
			return err
		}
		return nil // a hard link shares the target's metadata
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		mode := uint32(hdr.Mode & 0o7777)
		switch hdr.Typeflag {
		case tar.TypeChar:
			mode |= unix.S_IFCHR
		case tar.TypeBlock:
			mode |= unix.S_IFBLK
		default:
			mode |= unix.S_IFIFO
		}
		dev := int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor)))
		if x.userns && hdr.Typeflag != tar.TypeFifo {
			slog.Debug("overlay: skipping device node in a user namespace", "name", hdr.Name)
			return nil
		}
		if err := x.create(dirfd, base, func() error { return unix.Mknodat(dirfd, base, mode, dev) }); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: type %q", ErrUnsupportedEntry, hdr.Typeflag)
	}
	return x.meta(dirfd, base, hdr)
}

func isSparse(hdr *tar.Header) bool {
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// create makes a new entry with mk, replacing whatever is at dirfd/base (a
// directory is replaced with all its contents).
func (x *extractor) create(dirfd int, base string, mk func() error) error {
	err := mk()
	if errors.Is(err, unix.EEXIST) {
		if err := x.removeAt(dirfd, base); err != nil {
			return err
		}
		err = mk()
	}
	return err
}

// waitFor waits for the writers if one of them works on key.
func (x *extractor) waitFor(key entryKey) error {
	if x.w.isBusy(key) {
		return x.w.barrier()
	}
	return nil
}

// smallFile reads a small file's data and queues it for the writers, or
// writes it in order when something of that name exists already.
func (x *extractor) smallFile(dirfd int, base string, key entryKey, hdr *tar.Header, tr *tar.Reader) error {
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
		if err := x.w.barrier(); err != nil {
			return err
		}
		return x.file(dirfd, base, hdr, tr)
	}
	data := x.w.getBuf(hdr.Size)
	if _, err := io.ReadFull(tr, (*data)[:hdr.Size]); err != nil {
		x.w.putBuf(data)
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("read file data: %w", err)
	}
	fd, err := unix.Dup(dirfd)
	if err != nil {
		x.w.putBuf(data)
		return err
	}
	x.w.submit(&fileJob{dirfd: fd, base: base, hdr: hdr, data: data, key: key})
	return nil
}

// removeAt removes dirfd/base and everything below it.
func (x *extractor) removeAt(dirfd int, base string) error {
	// Writers may be creating files below what goes away.
	if err := x.w.barrier(); err != nil {
		return err
	}
	x.res.invalidate() // a cached handle may be below what goes away
	err := unix.Unlinkat(dirfd, base, 0)
	if errors.Is(err, unix.EISDIR) || errors.Is(err, unix.EPERM) {
		// RemoveAll walks with openat(O_NOFOLLOW)/unlinkat below the
		// directory handle's magic link, never following symlinks.
		err = os.RemoveAll(procPath(dirfd, base))
	}
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("replace existing %q: %w", base, err)
	}
	return nil
}

func (x *extractor) mkdir(dirfd int, base, name string, hdr *tar.Header) error {
	if base != "." {
		err := unix.Mkdirat(dirfd, base, 0o700)
		if errors.Is(err, unix.EEXIST) {
			var st unix.Stat_t
			if err := unix.Fstatat(dirfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return err
			}
			if st.Mode&unix.S_IFMT != unix.S_IFDIR {
				err = x.create(dirfd, base, func() error { return unix.Mkdirat(dirfd, base, 0o700) })
			} else {
				err = nil // merge into the existing directory
			}
		}
		if err != nil {
			return err
		}
	}
	if err := x.meta(dirfd, base, hdr); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	x.dirs = append(x.dirs, dirTimes{name: name, ino: st.Ino, atime: hdr.AccessTime, mtime: hdr.ModTime})
	return nil
}

func (x *extractor) file(dirfd int, base string, hdr *tar.Header, tr *tar.Reader) error {
	flags := unix.O_WRONLY | unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW | unix.O_CLOEXEC
	var fd int
	err := x.create(dirfd, base, func() (err error) {
		fd, err = unix.Openat(dirfd, base, flags, 0o600)
		return err
	})
	if err != nil {
		return err
	}
	werr := x.copyData(fd, tr, hdr.Size)
	if werr == nil {
		werr = fileMeta(fd, hdr)
	}
	if cerr := unix.Close(fd); werr == nil && cerr != nil {
		werr = cerr
	}
	if werr != nil {
		return werr
	}
	return setTimes(dirfd, base, hdr.AccessTime, hdr.ModTime)
}

// copyData writes the entry's data to fd with the big buffer, checking ctx
// between chunks.
func (x *extractor) copyData(fd int, r io.Reader, size int64) error {
	for size > 0 {
		if err := x.ctx.Err(); err != nil {
			return err
		}
		chunk := x.buf
		if int64(len(chunk)) > size {
			chunk = chunk[:size]
		}
		n, err := io.ReadFull(r, chunk)
		if n > 0 {
			if werr := writeAll(fd, chunk[:n]); werr != nil {
				return werr
			}
			size -= int64(n)
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				return fmt.Errorf("read file data: %w", io.ErrUnexpectedEOF)
			}
			return fmt.Errorf("read file data: %w", err)
		}
	}
	return nil
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("write: %w", err)
		}
		b = b[n:]
	}
	return nil
}

// fileMeta sets owner, mode and xattrs of an open regular file.
func fileMeta(fd int, hdr *tar.Header) error {
	if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
		return fmt.Errorf("chown %d:%d: %w", hdr.Uid, hdr.Gid, err)
	}
	if err := unix.Fchmod(fd, uint32(hdr.Mode&0o7777)); err != nil {
		return fmt.Errorf("chmod %o: %w", hdr.Mode, err)
	}
	return applyXattrs(hdr, func(k string, v []byte) error { return unix.Fsetxattr(fd, k, v, 0) })
}

// meta sets owner, mode, xattrs and (for non-directories) times of
// dirfd/base, never following a symlink there.
func (x *extractor) meta(dirfd int, base string, hdr *tar.Header) error {
	if err := unix.Fchownat(dirfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown %d:%d: %w", hdr.Uid, hdr.Gid, err)
	}
	if hdr.Typeflag != tar.TypeSymlink {
		// Safe to follow: we just made (or found) a non-symlink here, and
		// nothing else writes to the layer while it is built.
		if err := unix.Fchmodat(dirfd, base, uint32(hdr.Mode&0o7777), 0); err != nil {
			return fmt.Errorf("chmod %o: %w", hdr.Mode, err)
		}
	}
	if err := applyXattrs(hdr, func(k string, v []byte) error { return setxattrAt(dirfd, base, k, v) }); err != nil {
		return err
	}
	if hdr.Typeflag == tar.TypeDir {
		return nil
	}
	return setTimes(dirfd, base, hdr.AccessTime, hdr.ModTime)
}

// entryXattrs returns the entry's extended attributes from its SCHILY.xattr.*
// (GNU tar, Go) and LIBARCHIVE.xattr.* (bsdtar) PAX records.
func entryXattrs(hdr *tar.Header) map[string]string {
	var out map[string]string
	for k, v := range hdr.PAXRecords {
		var name, value string
		switch {
		case strings.HasPrefix(k, paxXattrPrefix):
			name, value = k[len(paxXattrPrefix):], v
		case strings.HasPrefix(k, paxLibarchivePrefix):
			n, err := url.QueryUnescape(k[len(paxLibarchivePrefix):])
			if err != nil {
				continue
			}
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				if b, err = base64.RawStdEncoding.DecodeString(v); err != nil {
					continue
				}
			}
			if _, dup := hdr.PAXRecords[paxXattrPrefix+n]; dup {
				continue
			}
			name, value = n, string(b)
		default:
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[name] = value
	}
	return out
}

// applyXattrs sets the entry's extended attributes with set.
func applyXattrs(hdr *tar.Header, set func(k string, v []byte) error) error {
	for k, v := range entryXattrs(hdr) {
		if overlayXattr(k) {
			slog.Debug("overlay: dropping overlay xattr from layer", "name", hdr.Name, "xattr", k)
			continue
		}
		if err := set(k, []byte(v)); err != nil {
			symlinkEPERM := hdr.Typeflag == tar.TypeSymlink && errors.Is(err, unix.EPERM) // user.* on symlinks
			if strings.HasPrefix(k, "security.") || errors.Is(err, unix.ENOTSUP) || symlinkEPERM {
				slog.Debug("overlay: xattr not set", "name", hdr.Name, "xattr", k, "err", err)
				continue
			}
			return fmt.Errorf("set xattr %s: %w", k, err)
		}
	}
	return nil
}

func setTimes(dirfd int, base string, atime, mtime time.Time) error {
	if atime.IsZero() {
		atime = mtime
	}
	ts := []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	if mtime.IsZero() {
		return nil
	}
	if err := unix.UtimesNanoAt(dirfd, base, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

// hardlink links dirfd/base to the entry named by the untrusted linkname,
// resolved inside the root like every other name.
func (x *extractor) hardlink(dirfd int, base, linkname string) error {
	if err := x.w.barrier(); err != nil { // the target may be in flight
		return err
	}
	target, err := cleanName(linkname)
	if err != nil {
		return fmt.Errorf("hardlink target: %w", err)
	}
	if target == "." {
		return fmt.Errorf("%w: hardlink to the layer root", ErrUnsafePath)
	}
	// dirfd may be the resolver's cached handle, which the target lookup
	// replaces: keep our own copy.
	newDir, err := unix.Dup(dirfd)
	if err != nil {
		return err
	}
	defer unix.Close(newDir)
	oldDir, oldBase, err := x.parent(target, false)
	if err != nil {
		return fmt.Errorf("hardlink target %q: %w", linkname, err)
	}
	return x.create(newDir, base, func() error { return unix.Linkat(oldDir, oldBase, newDir, base, 0) })
}

// whiteout records the deletion of name (from lower layers) as an overlay
// whiteout: a 0:0 character device.
func (x *extractor) whiteout(dirfd int, name string) error {
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("%w: whiteout of %q", ErrUnsafePath, name)
	}
	err := unix.Mknodat(dirfd, name, unix.S_IFCHR, 0)
	if errors.Is(err, unix.EEXIST) {
		// This layer has its own entry of that name, which hides the lower
		// one anyway; if it is a directory it must also hide the lower
		// directory's contents.
		var st unix.Stat_t
		if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			return setxattrAt(dirfd, name, x.opaqueKey, []byte("y"))
		}
		return nil
	}
	return err
}

// opaque marks directory dir (clean, relative) opaque, creating it if needed.
func (x *extractor) opaque(dir string) error {
	fd, err := x.res.dir(dir, true)
	if err != nil {
		return err
	}
	if err := setxattrAt(fd, ".", x.opaqueKey, []byte("y")); err != nil {
		return fmt.Errorf("set %s on %q: %w", x.opaqueKey, dir, err)
	}
	return nil
}
