package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"
)

// TestUntarGzipContext: a gzipped build context (docker compose v2 sends one) is
// extracted as the plain tar is.
func TestUntarGzipContext(t *testing.T) {
	var plain bytes.Buffer
	tw := tar.NewWriter(&plain)
	body := []byte("FROM scratch\n")
	if err := tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write(body)
	tw.Close()
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write(plain.Bytes())
	zw.Close()
	for name, in := range map[string][]byte{"plain": plain.Bytes(), "gzip": zipped.Bytes()} {
		dir := t.TempDir()
		if err := untar(decompress(bytes.NewReader(in)), dir); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got, err := os.ReadFile(filepath.Join(dir, "Dockerfile")); err != nil || !bytes.Equal(got, body) {
			t.Errorf("%s: Dockerfile = %q, %v", name, got, err)
		}
	}
	bad := append([]byte{0x1f, 0x8b}, "not gzip"...)
	if err := untar(decompress(bytes.NewReader(bad)), t.TempDir()); err == nil {
		t.Error("a corrupt gzip context extracted without error")
	}
}
