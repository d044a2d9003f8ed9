package testutil

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BusyboxPath is where Busybox finds the static busybox binary (Debian's
// busybox-static package).
const BusyboxPath = "/bin/busybox"

// BusyboxEnv is the PATH the busybox image's config sets.
const BusyboxEnv = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// fixedTime is the mtime of every entry and the image's creation time, so the
// image's digests depend only on the busybox binary.
var fixedTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

var busybox struct {
	once sync.Once
	img  v1.Image
	err  error
}

// Busybox returns the busybox test image, built once per test binary from
// /bin/busybox (about 0.2 s the first time, then free). It is an OCI image
// (OCI manifest, gzip layers) with three layers:
//
//   - layer 1: /bin/busybox and a symlink /bin/<applet> -> busybox for every
//     applet; dirs /etc /tmp (1777) /proc /sys /dev /root /home/app /var
//     /usr/bin; /etc/passwd (root 0, nobody 65534, app 1000) and /etc/group.
//   - layer 2: /etc/motd ("welcome\n"), /tmp/doomed, /opt/dir/a, /opt/dir/b.
//   - layer 3: /tmp/.wh.doomed (deletes /tmp/doomed), /opt/dir/.wh..wh..opq
//     (hides a and b) and /opt/dir/c.
//
// So the merged root has /etc/motd, no /tmp/doomed, and only c in /opt/dir.
// The config has Cmd ["sh"], Env [BusyboxEnv], OS linux and the host's
// architecture. Without busybox-static the test is skipped (failed in CI).
func Busybox(t testing.TB) v1.Image {
	t.Helper()
	_, err := os.Stat(BusyboxPath)
	Require(t, BusyboxPath+" (apt-get install busybox-static)", err == nil)
	busybox.once.Do(func() { busybox.img, busybox.err = BuildBusybox(BusyboxPath) })
	if busybox.err != nil {
		t.Fatalf("busybox image: %v", busybox.err)
	}
	return busybox.img
}

// BusyboxMultiArch returns an OCI image index with two entries, linux/amd64
// and linux/arm64. The entry for the host's architecture is Busybox(t) itself
// (same digest); the other reuses its layers with a config naming the other
// architecture (so it cannot run here, but it pulls).
func BusyboxMultiArch(t testing.TB) v1.ImageIndex {
	t.Helper()
	host := Busybox(t)
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range []string{"amd64", "arm64"} {
		img := host
		if arch != runtime.GOARCH {
			cf, err := host.ConfigFile()
			if err != nil {
				t.Fatalf("busybox config: %v", err)
			}
			cf = cf.DeepCopy()
			cf.Architecture = arch
			if img, err = mutate.ConfigFile(host, cf); err == nil {
				img, err = freeze(img)
			}
			if err != nil {
				t.Fatalf("busybox %s config: %v", arch, err)
			}
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add: img,
			Descriptor: v1.Descriptor{
				MediaType: types.OCIManifestSchema1,
				Platform:  &v1.Platform{OS: "linux", Architecture: arch},
			},
		})
	}
	return idx
}

// BuildBusybox builds the image Busybox describes from the static busybox
// binary at path. It is deterministic: the same binary gives the same digests.
func BuildBusybox(path string) (v1.Image, error) {
	bin, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("busybox %s: %w", path, err)
	}
	out, err := exec.Command(path, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("busybox %s --list: %w", path, err)
	}
	applets := strings.Fields(string(out))

	var layers [3][]entry
	l1 := []entry{
		dir("bin/", 0o755), file("bin/busybox", 0o755, bin),
	}
	for _, a := range applets {
		if a != "busybox" && !strings.Contains(a, "/") {
			l1 = append(l1, symlink("bin/"+a, "busybox"))
		}
	}
	l1 = append(l1,
		dir("dev/", 0o755), dir("etc/", 0o755),
		file("etc/passwd", 0o644, []byte(
			"root:x:0:0:root:/root:/bin/sh\n"+
				"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"+
				"app:x:1000:1000:app:/home/app:/bin/sh\n")),
		file("etc/group", 0o644, []byte("root:x:0:\nnobody:x:65534:\napp:x:1000:\n")),
		dir("home/", 0o755), owned(dir("home/app/", 0o755), 1000, 1000),
		dir("proc/", 0o555), dir("root/", 0o700), dir("sys/", 0o555),
		dir("tmp/", 0o1777), dir("usr/", 0o755), dir("usr/bin/", 0o755), dir("var/", 0o755),
	)
	layers[0] = l1
	layers[1] = []entry{
		dir("etc/", 0o755), file("etc/motd", 0o644, []byte("welcome\n")),
		dir("opt/", 0o755), dir("opt/dir/", 0o755),
		file("opt/dir/a", 0o644, []byte("a\n")), file("opt/dir/b", 0o644, []byte("b\n")),
		dir("tmp/", 0o1777), file("tmp/doomed", 0o644, []byte("doomed\n")),
	}
	layers[2] = []entry{
		dir("opt/", 0o755), dir("opt/dir/", 0o755),
		file("opt/dir/.wh..wh..opq", 0o644, nil), file("opt/dir/c", 0o644, []byte("c\n")),
		dir("tmp/", 0o1777), file("tmp/.wh.doomed", 0o644, nil),
	}
	history := []string{
		"busybox-static, applet links, base dirs, passwd, group",
		"motd, /tmp/doomed, /opt/dir/{a,b}",
		"whiteout /tmp/doomed, opaque /opt/dir with c",
	}

	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, &v1.ConfigFile{
		Architecture: runtime.GOARCH,
		OS:           "linux",
		Created:      v1.Time{Time: fixedTime},
		Config:       v1.Config{Cmd: []string{"sh"}, Env: []string{BusyboxEnv}},
		RootFS:       v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, fmt.Errorf("busybox config: %w", err)
	}
	for i, entries := range layers {
		blob, err := gzipTar(entries)
		if err != nil {
			return nil, fmt.Errorf("busybox layer %d: %w", i+1, err)
		}
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(blob)), nil
		}, tarball.WithMediaType(types.OCILayer))
		if err != nil {
			return nil, fmt.Errorf("busybox layer %d: %w", i+1, err)
		}
		img, err = mutate.Append(img, mutate.Addendum{
			Layer:   l,
			History: v1.History{Created: v1.Time{Time: fixedTime}, CreatedBy: history[i]},
		})
		if err != nil {
			return nil, fmt.Errorf("busybox layer %d: %w", i+1, err)
		}
	}
	img, err = mutate.CreatedAt(img, v1.Time{Time: fixedTime})
	if err != nil {
		return nil, fmt.Errorf("busybox created: %w", err)
	}
	return freeze(img)
}

// frozen is an image with its manifest and config fixed as bytes: cheap to
// share between tests, and its Manifest() is exactly ParseManifest(RawManifest())
// (a mutate image's is not, which validate.Image rejects).
type frozen struct {
	manifest, config []byte
	mediaType        types.MediaType
	layers           map[v1.Hash]v1.Layer
}

func freeze(img v1.Image) (v1.Image, error) {
	f := &frozen{layers: map[v1.Hash]v1.Layer{}}
	var err error
	if f.manifest, err = img.RawManifest(); err != nil {
		return nil, fmt.Errorf("busybox manifest: %w", err)
	}
	if f.config, err = img.RawConfigFile(); err != nil {
		return nil, fmt.Errorf("busybox config: %w", err)
	}
	if f.mediaType, err = img.MediaType(); err != nil {
		return nil, fmt.Errorf("busybox media type: %w", err)
	}
	ls, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("busybox layers: %w", err)
	}
	for _, l := range ls {
		d, err := l.Digest()
		if err != nil {
			return nil, fmt.Errorf("busybox layer digest: %w", err)
		}
		f.layers[d] = l
	}
	return partial.CompressedToImage(f)
}

func (f *frozen) RawConfigFile() ([]byte, error)      { return f.config, nil }
func (f *frozen) MediaType() (types.MediaType, error) { return f.mediaType, nil }
func (f *frozen) RawManifest() ([]byte, error)        { return f.manifest, nil }
func (f *frozen) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if l, ok := f.layers[h]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("busybox image: no layer %s", h)
}

// entry is one tar header with its content.
type entry struct {
	hdr  tar.Header
	data []byte
}

func dir(name string, mode int64) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode}}
}

func file(name string, mode int64, data []byte) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data))}, data: data}
}

func symlink(name, target string) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777}}
}

func owned(e entry, uid, gid int) entry {
	e.hdr.Uid, e.hdr.Gid = uid, gid
	return e
}

// gzipTar writes entries as a tar with fixed mtimes, gzip-compressed with a
// header carrying no time or name.
func gzipTar(entries []entry) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := e.hdr
		h.ModTime = fixedTime
		if err := tw.WriteHeader(&h); err != nil {
			return nil, fmt.Errorf("%s: %w", h.Name, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, fmt.Errorf("%s: %w", h.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
