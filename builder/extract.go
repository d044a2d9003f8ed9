package builder

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// decompressed returns r decompressed when it starts with a gzip, bzip2 or
// zstd magic number, else r itself.
func decompressed(r *bufio.Reader) (io.Reader, func(), error) {
	head, _ := r.Peek(4)
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		z, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, err
		}
		return z, func() { z.Close() }, nil
	case bytes.HasPrefix(head, []byte("BZh")):
		return bzip2.NewReader(r), func() {}, nil
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		z, err := zstd.NewReader(r)
		if err != nil {
			return nil, nil, err
		}
		return z, z.Close, nil
	}
	return r, func() {}, nil
}

// isTar reports whether host is a (possibly compressed) tar archive.
func isTar(host string) bool {
	f, err := os.Open(host)
	if err != nil {
		return false
	}
	defer f.Close()
	r, done, err := decompressed(bufio.NewReader(f))
	if err != nil {
		return false
	}
	defer done()
	_, err = tar.NewReader(r).Next()
	return err == nil
}

// extractArchive unpacks host into the directory dest of the snapshot when
// it is a tar archive (plain, gzip, bzip2 or zstd), as ADD does, and reports
// whether it was one. Every entry is resolved inside the snapshot; owners
// come from the archive unless --chown is given.
func extractArchive(w *fsWriter, host, dest string) (bool, error) {
	if !isTar(host) {
		return false, nil
	}
	f, err := os.Open(host)
	if err != nil {
		return true, err
	}
	defer f.Close()
	r, done, err := decompressed(bufio.NewReader(f))
	if err != nil {
		return true, err
	}
	defer done()
	if _, err := w.mkdirAll(dest); err != nil {
		return true, err
	}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return true, fmt.Errorf("extract %s: %w", path.Base(host), err)
		}
		name := path.Clean("/" + hdr.Name)
		if name == "/" {
			continue
		}
		target := path.Join(dest, name)
		parent, err := w.mkdirAll(path.Dir(target))
		if err != nil {
			return true, err
		}
		m := meta{mode: hdr.FileInfo().Mode(), uid: hdr.Uid, gid: hdr.Gid, mtime: hdr.ModTime, linkname: hdr.Linkname,
			rdev: uint64(hdr.Devmajor)<<8 | uint64(hdr.Devminor)}
		if hdr.Typeflag == tar.TypeLink {
			old, err := w.resolve(path.Join(dest, path.Clean("/"+hdr.Linkname)))
			if err != nil {
				return true, err
			}
			dst := parent + "/" + path.Base(target)
			os.RemoveAll(dst)
			if err := os.Link(old, dst); err != nil {
				return true, err
			}
			continue
		}
		data := func() (io.ReadCloser, error) { return io.NopCloser(tr), nil }
		if m.mode.Type()&^(fs.ModeDir|fs.ModeSymlink|fs.ModeNamedPipe|fs.ModeDevice|fs.ModeCharDevice) != 0 {
			continue
		}
		if err := w.place(parent, path.Base(target), m, data); err != nil {
			return true, fmt.Errorf("extract %s: %s: %w", path.Base(host), hdr.Name, err)
		}
	}
	return true, nil
}
