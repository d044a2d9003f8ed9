package skiff

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestCopyTreeKeepsMetadata: seeding copies modes (setuid included), owners, xattrs,
// symlinks (not followed), hard links and mtimes.
func TestCopyTreeKeepsMetadata(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown") // the engine tests run as root in CI
	}
	src, dst := t.TempDir(), t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Mkdir(filepath.Join(src, "d"), 0o750))
	must(os.WriteFile(filepath.Join(src, "d", "f"), []byte("data"), 0o644))
	must(unix.Chmod(filepath.Join(src, "d", "f"), 0o4755))
	must(os.Chown(filepath.Join(src, "d"), 1000, 1001))
	must(os.Symlink("/etc/shadow", filepath.Join(src, "abs")))
	must(os.Link(filepath.Join(src, "d", "f"), filepath.Join(src, "hard")))
	must(unix.Lsetxattr(filepath.Join(src, "d", "f"), "user.skiff", []byte("v"), 0))
	must(unix.Mkfifo(filepath.Join(src, "fifo"), 0o600))
	must(os.Chmod(src, 0o711))

	must(copyTree(context.Background(), src, dst))

	var st, sf unix.Stat_t
	must(unix.Lstat(filepath.Join(dst, "d"), &st))
	if st.Mode&0o7777 != 0o750 || st.Uid != 1000 || st.Gid != 1001 {
		t.Errorf("dir: mode %o owner %d:%d", st.Mode&0o7777, st.Uid, st.Gid)
	}
	must(unix.Lstat(filepath.Join(dst, "d", "f"), &sf))
	if sf.Mode&0o7777 != 0o4755 {
		t.Errorf("file mode %o, want 4755", sf.Mode&0o7777)
	}
	var sh unix.Stat_t
	must(unix.Lstat(filepath.Join(dst, "hard"), &sh))
	if sh.Ino != sf.Ino {
		t.Errorf("hard link not kept: inodes %d and %d", sh.Ino, sf.Ino)
	}
	buf := make([]byte, 8)
	if n, err := unix.Lgetxattr(filepath.Join(dst, "d", "f"), "user.skiff", buf); err != nil || string(buf[:n]) != "v" {
		t.Errorf("xattr user.skiff: %q %v", buf[:n], err)
	}
	if l, err := os.Readlink(filepath.Join(dst, "abs")); err != nil || l != "/etc/shadow" {
		t.Errorf("symlink: %q %v", l, err)
	}
	if fi, err := os.Lstat(filepath.Join(dst, "fifo")); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("fifo: %v %v", fi, err)
	}
	if fi, _ := os.Stat(dst); fi.Mode().Perm() != 0o711 {
		t.Errorf("destination root mode %v, want src's 0711", fi.Mode())
	}
	var s0, d0 unix.Stat_t
	must(unix.Lstat(filepath.Join(src, "d"), &s0))
	must(unix.Lstat(filepath.Join(dst, "d"), &d0))
	if s0.Mtim != d0.Mtim {
		t.Errorf("dir mtime %v, want %v", d0.Mtim, s0.Mtim)
	}
}
