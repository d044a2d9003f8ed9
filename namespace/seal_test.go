package namespace

import (
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkSealedExe measures one sealed copy of the test binary; Create pays it once
// per process (sealedExe caches it).
func BenchmarkSealedExe(b *testing.B) {
	for b.Loop() {
		f, err := cloneSelfExe()
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

func TestSealedExeIsSealed(t *testing.T) {
	f, err := sealedExe()
	if err != nil {
		t.Fatal(err)
	}
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
