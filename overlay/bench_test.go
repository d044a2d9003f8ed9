package overlay

import (
	"archive/tar"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// benchTar builds a ~50 MB layer shaped like a root file system: 400 dirs,
// 4000 small files (1–16 KiB), 24 large files (1 MiB), 400 symlinks.
func benchTar(tb testing.TB) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(rng.IntN(256))
	}
	add := func(h *tar.Header, b []byte) {
		h.ModTime, h.Size = fixedTime, int64(len(b))
		if err := tw.WriteHeader(h); err != nil {
			tb.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			tb.Fatal(err)
		}
	}
	for d := range 400 {
		dir := fmt.Sprintf("usr/lib/d%03d", d)
		add(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755}, nil)
		for f := range 10 {
			n := 1024 + rng.IntN(15*1024)
			add(&tar.Header{Typeflag: tar.TypeReg, Name: fmt.Sprintf("%s/f%d.so", dir, f), Mode: 0o644}, data[:n])
		}
		add(&tar.Header{Typeflag: tar.TypeSymlink, Name: dir + "/link", Linkname: "f0.so", Mode: 0o777}, nil)
	}
	for f := range 24 {
		add(&tar.Header{Typeflag: tar.TypeReg, Name: fmt.Sprintf("opt/big%02d.bin", f), Mode: 0o755}, data)
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkUnpack unpacks the ~50 MB layer (including the final syncfs and
// rename); "skiff-nosync" skips that syncfs, and "tar-x" runs GNU tar -x on
// the same bytes (no digest, no sync) for reference. Set SKIFF_BENCH_DIR to
// choose the file system. Nothing is deleted between iterations: on a
// file system mounted with "discard" (like this VM's) deletions slow down
// the creations that follow.
func BenchmarkUnpack(b *testing.B) {
	requireRoot(b)
	tarball := benchTar(b)
	diffID := sha(tarball)
	for _, sync := range []bool{true, false} {
		name := "skiff"
		if !sync {
			name = "skiff-nosync"
		}
		b.Run(name, func(b *testing.B) {
			var opts []Option
			if !sync {
				opts = append(opts, WithoutSync())
			}
			s, err := NewStore(benchRoot(b), opts...)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(tarball)))
			i := 0
			for b.Loop() {
				id := chainFor(fmt.Sprint("bench", i))
				i++
				if err := s.Unpack(b.Context(), id, diffID, bytes.NewReader(tarball)); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := s.Remove(b.Context(), id); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
	b.Run("tar-x", func(b *testing.B) {
		tarBin, err := exec.LookPath("tar")
		if err != nil {
			b.Skip("no tar binary")
		}
		root := benchRoot(b)
		b.SetBytes(int64(len(tarball)))
		i := 0
		for b.Loop() {
			dir := filepath.Join(root, fmt.Sprint(i))
			i++
			if err := os.Mkdir(dir, 0o755); err != nil {
				b.Fatal(err)
			}
			cmd := exec.Command(tarBin, "-x", "-C", dir)
			cmd.Stdin = bytes.NewReader(tarball)
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("tar: %v: %s", err, out)
			}
		}
	})
}

// benchRoot is a fresh dir under $SKIFF_BENCH_DIR (e.g. /dev/shm to take the
// disk out of the measurement), or a t.TempDir.
func benchRoot(b *testing.B) string {
	base := os.Getenv("SKIFF_BENCH_DIR")
	if base == "" {
		return b.TempDir()
	}
	d, err := os.MkdirTemp(base, "skiff-bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(d) })
	return d
}
