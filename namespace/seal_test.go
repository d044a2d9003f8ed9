package namespace

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkSealedExe compares the two ways to get an unwritable view of the running
// binary: a sealed memfd copy (cost grows with the binary) and a detached read-only
// overlay of its directory (constant). Create pays one of them once per process.
func BenchmarkSealedExe(b *testing.B) {
	for _, bc := range []struct {
		name string
		open func() (*os.File, error)
	}{{"memfd-copy", cloneSelfExe}, {"overlay-view", overlayExe}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				f, err := bc.open()
				if err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
	}
}

func TestMemfdExeIsSealed(t *testing.T) {
	f, err := cloneSelfExe()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seals, err := unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0)
	if err != nil {
		t.Fatal(err)
	}
	if seals&exeSeals != exeSeals {
		t.Fatalf("seals %#x, want %#x", seals, exeSeals)
	}
	if _, err := unix.Write(int(f.Fd()), []byte("x")); err == nil {
		t.Fatal("write to the sealed exe succeeded")
	}
}

func TestOverlayExeIsReadOnly(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (fsmount); the memfd copy is used instead")
	}
	f, err := overlayExe()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Reopening the O_PATH fd for writing is the CVE-2019-5736 move: refused.
	w, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(int(f.Fd())), os.O_WRONLY, 0)
	if err == nil {
		w.Close()
		t.Fatal("opened the overlay view of the binary for writing")
	}
	if !errors.Is(err, unix.EROFS) {
		t.Errorf("reopen for writing: %v, want EROFS", err)
	}
	// It is the running binary, and the overlay is attached nowhere.
	self, _ := os.Stat("/proc/self/exe")
	if st, err := f.Stat(); err != nil || st.Size() != self.Size() {
		t.Errorf("overlay view: %v %v, want the binary's size %d", st, err, self.Size())
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	if n := countOverlayOf(mounts); n != 0 {
		t.Errorf("%d overlay mounts of the binary's directory appeared in mountinfo", n)
	}
}

func countOverlayOf(mountinfo []byte) int {
	self, _ := os.Readlink("/proc/self/exe")
	n := 0
	for _, line := range strings.Split(string(mountinfo), "\n") {
		if strings.Contains(line, " - overlay ") && strings.Contains(line, filepath.Dir(self)) {
			n++
		}
	}
	return n
}
