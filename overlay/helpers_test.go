package overlay

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/sys/mountinfo"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/skiffrt/skiff/internal/testutil"
)

// require skips the test when ok is false, or fails it when CI=true.
func require(t testing.TB, what string, ok bool) {
	t.Helper()
	testutil.Require(t, what, ok)
}

// requireRoot skips the test when not root, or fails it when CI=true.
func requireRoot(t testing.TB) {
	t.Helper()
	require(t, "root", os.Geteuid() == 0)
}

var fixedTime = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// makeTar builds a tar from text lines, one entry per line:
//
//	dir NAME [MODE]
//	file NAME [CONTENT...]          (mode 0644)
//	exec NAME [CONTENT...]          (mode 0755)
//	symlink NAME TARGET
//	link NAME TARGET
//	char|block NAME MAJOR MINOR
//	fifo NAME
//	xattr NAME KEY=VALUE            (file with an xattr)
//	owner NAME UID GID              (file owned by UID:GID)
//
// Names are used verbatim (hostile ones included).
func makeTar(t testing.TB, lines ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, line := range lines {
		f := strings.Fields(line)
		if len(f) < 2 {
			t.Fatalf("bad fixture line %q", line)
		}
		h := &tar.Header{Name: f[1], ModTime: fixedTime, Mode: 0o644, Format: tar.FormatPAX}
		var data []byte
		switch f[0] {
		case "dir":
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
			if len(f) > 2 {
				m, _ := strconv.ParseInt(f[2], 8, 32)
				h.Mode = m
			}
		case "file", "exec":
			h.Typeflag = tar.TypeReg
			data = []byte(strings.Join(f[2:], " "))
			if f[0] == "exec" {
				h.Mode = 0o755
			}
		case "symlink":
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, f[2], 0o777
		case "link":
			h.Typeflag, h.Linkname = tar.TypeLink, f[2]
		case "char", "block":
			h.Typeflag = tar.TypeChar
			if f[0] == "block" {
				h.Typeflag = tar.TypeBlock
			}
			maj, _ := strconv.Atoi(f[2])
			mnr, _ := strconv.Atoi(f[3])
			h.Devmajor, h.Devminor = int64(maj), int64(mnr)
		case "fifo":
			h.Typeflag = tar.TypeFifo
		case "xattr":
			h.Typeflag = tar.TypeReg
			k, v, _ := strings.Cut(f[2], "=")
			h.PAXRecords = map[string]string{paxXattrPrefix + k: v}
		case "owner":
			h.Typeflag = tar.TypeReg
			h.Uid, _ = strconv.Atoi(f[2])
			h.Gid, _ = strconv.Atoi(f[3])
		default:
			t.Fatalf("bad fixture line %q", line)
		}
		h.Size = int64(len(data))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("fixture %q: %v", line, err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sha(b []byte) digest.Digest { return digest.FromBytes(b) }

// chainFor makes a distinct, valid chainID for a test layer.
func chainFor(name string) digest.Digest {
	return digest.NewDigestFromBytes(digest.SHA256, func() []byte { s := sha256.Sum256([]byte(name)); return s[:] }())
}

// listTree describes every entry under root, one line each, sorted:
//
//	dir a 755 0:0 [opaque]
//	file a/b 644 0:0 content
//	symlink c -> target
//	char d 0:0 (whiteout) / char d 1:3
//	fifo e
func listTree(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		perm := st.Mode & 0o7777
		own := fmt.Sprintf("%d:%d", st.Uid, st.Gid)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			line := fmt.Sprintf("dir %s %o %s", rel, perm, own)
			if v, err := getxattr(p, opaqueXattr); err == nil {
				line += " opaque=" + v
			}
			out = append(out, line)
		case unix.S_IFREG:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			line := fmt.Sprintf("file %s %o %s %s", rel, perm, own, b)
			if st.Nlink > 1 {
				line += fmt.Sprintf(" nlink=%d", st.Nlink)
			}
			out = append(out, strings.TrimSpace(line))
		case unix.S_IFLNK:
			tgt, _ := os.Readlink(p)
			out = append(out, fmt.Sprintf("symlink %s -> %s", rel, tgt))
		case unix.S_IFCHR:
			out = append(out, fmt.Sprintf("char %s %d:%d", rel, unix.Major(st.Rdev), unix.Minor(st.Rdev)))
		case unix.S_IFBLK:
			out = append(out, fmt.Sprintf("block %s %d:%d", rel, unix.Major(st.Rdev), unix.Minor(st.Rdev)))
		case unix.S_IFIFO:
			out = append(out, fmt.Sprintf("fifo %s", rel))
		default:
			out = append(out, fmt.Sprintf("other %s", rel))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("list %s: %v", root, err)
	}
	slices.Sort(out)
	return out
}

func getxattr(p, key string) (string, error) {
	buf := make([]byte, 256)
	n, err := unix.Lgetxattr(p, key, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

func diffLines(want, got []string) string {
	var b strings.Builder
	for _, w := range want {
		if !slices.Contains(got, w) {
			fmt.Fprintf(&b, "  missing: %s\n", w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			fmt.Fprintf(&b, "  extra:   %s\n", g)
		}
	}
	return b.String()
}

func newTestStore(t testing.TB) *Store {
	t.Helper()
	s, err := NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unpackLines unpacks a fixture layer and returns its chainID.
func unpackLines(t testing.TB, s *Store, name string, lines ...string) digest.Digest {
	t.Helper()
	b := makeTar(t, lines...)
	id := chainFor(name)
	if err := s.Unpack(t.Context(), id, sha(b), bytes.NewReader(b)); err != nil {
		t.Fatalf("unpack %s: %v", name, err)
	}
	return id
}

// mountOverlay mounts m on a fresh dir and unmounts it in cleanup.
func mountOverlay(t testing.TB, m Mount, target string) {
	t.Helper()
	if err := os.MkdirAll(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := m.Mount(target); err != nil {
		t.Fatalf("mount: %v", err)
	}
	t.Cleanup(func() {
		if err := Unmount(target); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if ok, err := mountinfo.Mounted(target); ok || err != nil {
			t.Errorf("cleanup: %s still mounted (%v)", target, err)
		}
	})
}

// noTempDirs fails if the store has in-flight dirs left.
func noTempDirs(t testing.TB, s *Store) {
	t.Helper()
	ents, err := os.ReadDir(s.Root())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left in store: %s", e.Name())
		}
	}
}
