package skiff_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/internal/testutil"
)

// mkTar builds a tar from text lines: "dir NAME", "file NAME CONTENT", "symlink NAME
// TARGET", "link NAME TARGET".
func mkTar(t *testing.T, lines ...string) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, l := range lines {
		f := strings.SplitN(l, " ", 3)
		hdr := &tar.Header{Name: f[1], Mode: 0o644, Uid: 1234, Gid: 5678}
		body := ""
		switch f[0] {
		case "dir":
			hdr.Typeflag, hdr.Mode = tar.TypeDir, 0o755
		case "file":
			hdr.Typeflag, body = tar.TypeReg, f[2]
			hdr.Size = int64(len(body))
		case "symlink":
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, f[2]
		case "link":
			hdr.Typeflag, hdr.Linkname = tar.TypeLink, f[2]
		default:
			t.Fatalf("mkTar: bad line %q", l)
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, body)
	}
	tw.Close()
	return &buf
}

// tarList reads a tar stream into "NAME TYPE [CONTENT|TARGET]" lines.
func tarList(t *testing.T, r io.Reader) []string {
	t.Helper()
	var out []string
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("read tar: %v (so far %q)", err, out)
		}
		line := hdr.Name + " " + string(hdr.Typeflag)
		switch hdr.Typeflag {
		case tar.TypeReg:
			b, _ := io.ReadAll(tr)
			line += " " + string(b)
		case tar.TypeSymlink, tar.TypeLink:
			line += " " + hdr.Linkname
		}
		out = append(out, line)
	}
}

// sh runs a shell command in the running container c and returns its output.
func sh(t *testing.T, c *skiff.Container, cmd string) string {
	t.Helper()
	var out bytes.Buffer
	execIn(t, c, &out, "sh", "-c", cmd)
	return out.String()
}

func TestCopyToAndFromRunning(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	c := startBackground(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Cmd: []string{"sleep", "60"},
		Mounts: []skiff.Mount{{Type: skiff.MountTmpfs, Target: "/scratch"}}})

	tr := mkTar(t, "dir d/", "file d/f hello", "symlink d/l f", "link d/h d/f", "symlink dl d", "file /abs/x absolute names land inside")
	if err := c.CopyTo(ctx, "/tmp", tr, skiff.CopyToOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := sh(t, c, "cat /tmp/d/f /tmp/d/l /tmp/d/h /tmp/abs/x; stat -c '%u:%g %a %h' /tmp/d/f"); got != "hellohellohelloabsolute names land inside1234:5678 644 2\n" {
		t.Errorf("extracted files seen in the container: %q", got)
	}
	// The container's tmpfs mount is reached too.
	if err := c.CopyTo(ctx, "/scratch", mkTar(t, "file s in tmpfs"), skiff.CopyToOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := sh(t, c, "cat /scratch/s"); got != "in tmpfs" {
		t.Errorf("/scratch/s: %q", got)
	}

	st, err := c.StatPath(ctx, "/tmp/d/l")
	if err != nil || st.Name != "l" || st.Mode&os.ModeSymlink == 0 || st.LinkTarget != "/tmp/d/f" {
		t.Errorf("StatPath symlink: %+v %v", st, err)
	}
	if st, err := c.StatPath(ctx, "/tmp/d/"); err != nil || st.Name != "d" || !st.Mode.IsDir() {
		t.Errorf("StatPath dir: %+v %v", st, err)
	}
	if _, err := c.StatPath(ctx, "/tmp/nothing"); !errors.Is(err, skiff.ErrPathNotFound) {
		t.Errorf("StatPath of a missing path: %v, want ErrPathNotFound", err)
	}

	rc, st, err := c.CopyFrom(ctx, "/tmp/d")
	if err != nil {
		t.Fatal(err)
	}
	got := tarList(t, rc)
	rc.Close()
	slices.Sort(got)
	want := []string{"d/ 5", "d/f 0 hello", "d/h 1 d/f", "d/l 2 f"}
	if !slices.Equal(got, want) && !slices.Equal(got, []string{"d/ 5", "d/f 1 d/h", "d/h 0 hello", "d/l 2 f"}) {
		t.Errorf("CopyFrom /tmp/d: %q, want %q", got, want)
	}
	if !st.Mode.IsDir() || st.Name != "d" {
		t.Errorf("CopyFrom stat: %+v", st)
	}
	// "/." archives the contents; a file is one entry named after the path asked for.
	rc, _, err = c.CopyFrom(ctx, "/tmp/d/.")
	if err != nil {
		t.Fatal(err)
	}
	if got := tarList(t, rc); len(got) != 4 || got[0] != "./ 5" {
		t.Errorf("CopyFrom /tmp/d/.: %q", got)
	}
	rc.Close()
	rc, _, err = c.CopyFrom(ctx, "/tmp/dl/")
	if err != nil {
		t.Fatal(err)
	}
	if got := tarList(t, rc); len(got) != 4 || got[0] != "dl/ 5" {
		t.Errorf("CopyFrom of a symlink to a dir, with a trailing slash: %q, want the dir as dl/", got)
	}
	rc.Close()
	rc, _, err = c.CopyFrom(ctx, "/tmp/dl")
	if err != nil {
		t.Fatal(err)
	}
	if got := tarList(t, rc); !slices.Equal(got, []string{"dl 2 d"}) {
		t.Errorf("CopyFrom of a symlink: %q, want the link itself", got)
	}
	rc.Close()

	if err := c.CopyTo(ctx, "/tmp/d/f", mkTar(t, "file y y"), skiff.CopyToOptions{}); !errors.Is(err, skiff.ErrNotDirectory) {
		t.Errorf("CopyTo a file: %v, want ErrNotDirectory", err)
	}
	if err := c.CopyTo(ctx, "/nope", mkTar(t, "file y y"), skiff.CopyToOptions{}); !errors.Is(err, skiff.ErrPathNotFound) {
		t.Errorf("CopyTo a missing dir: %v, want ErrPathNotFound", err)
	}
	err = c.CopyTo(ctx, "/tmp", mkTar(t, "file d over a dir"), skiff.CopyToOptions{NoOverwriteDirNonDir: true})
	if !errors.Is(err, skiff.ErrArchiveEntry) {
		t.Errorf("NoOverwriteDirNonDir: %v, want ErrArchiveEntry", err)
	}
	if err := c.CopyTo(ctx, "/tmp", mkTar(t, "file d now a file"), skiff.CopyToOptions{}); err != nil {
		t.Errorf("overwrite a dir by a file: %v", err)
	}
	if got := sh(t, c, "cat /tmp/d"); got != "now a file" {
		t.Errorf("/tmp/d after overwrite: %q", got)
	}
}

// TestCopyHostile: symlinks of the container and entries of a tar that point out of the
// container (or out of the destination) never reach a host path.
func TestCopyHostile(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	c := startBackground(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Cmd: []string{"sleep", "60"}})
	marker := testutil.RandomName("skiff-cp-")
	hostDir := t.TempDir()
	sh(t, c, "mkdir /tmp/dest && ln -s / /tmp/abs && ln -s ../../../../../../.. /tmp/up && ln -s "+hostDir+" /tmp/host")
	t.Cleanup(func() { os.Remove("/" + marker) })

	// The container's links are resolved in the container: its /, not the host's.
	for _, dest := range []string{"/tmp/abs", "/tmp/up", "/tmp/up/tmp/.."} {
		if err := c.CopyTo(ctx, dest, mkTar(t, "file "+marker+" x"), skiff.CopyToOptions{}); err != nil {
			t.Fatalf("CopyTo %s: %v", dest, err)
		}
		if _, err := os.Lstat("/" + marker); err == nil {
			t.Fatalf("CopyTo %s wrote /%s on the host", dest, marker)
		}
		if got := sh(t, c, "cat /"+marker+" && rm /"+marker); got != "x" {
			t.Fatalf("CopyTo %s: container's /%s = %q", dest, marker, got)
		}
	}
	// A link naming a host directory names the container's path of that name.
	if err := c.CopyTo(ctx, "/tmp/host", mkTar(t, "file "+marker+" x"), skiff.CopyToOptions{}); !errors.Is(err, skiff.ErrPathNotFound) {
		t.Errorf("CopyTo a link to a host dir: %v, want ErrPathNotFound (no such dir in the container)", err)
	}
	if ents, _ := os.ReadDir(hostDir); len(ents) != 0 {
		t.Errorf("host dir written through a container symlink: %v", ents)
	}
	// Reading through the links reads the container's files.
	hostname := sh(t, c, "cat /etc/hostname")
	for _, p := range []string{"/tmp/up/etc/hostname", "/tmp/abs/etc/hostname", "/tmp/abs/../../etc/hostname"} {
		rc, _, err := c.CopyFrom(ctx, p)
		if err != nil {
			t.Fatalf("CopyFrom %s: %v", p, err)
		}
		if got := tarList(t, rc); len(got) != 1 || got[0] != "hostname 0 "+hostname {
			t.Errorf("CopyFrom %s: %q, want the container's hostname %q", p, got, hostname)
		}
		rc.Close()
	}

	// Hostile tars: each entry must fail and write nothing outside /tmp/dest.
	for _, tc := range [][]string{
		{"file ../" + marker + " climbs"},
		{"file a/../../" + marker + " climbs"},
		{"symlink out /", "file out/" + marker + " through an absolute link"},
		{"symlink out ../..", "file out/" + marker + " through a relative link"},
		{"symlink out /tmp/abs", "file out/" + marker + " through a chain"},
		{"link " + marker + " ../../etc/passwd"},
		{"dir sub/", "symlink sub/x ../../..", "file sub/x/" + marker + " deep"},
	} {
		err := c.CopyTo(ctx, "/tmp/dest", mkTar(t, tc...), skiff.CopyToOptions{})
		if !errors.Is(err, skiff.ErrArchiveEntry) {
			t.Errorf("tar %q: %v, want ErrArchiveEntry", tc, err)
		}
		if _, err := os.Lstat("/" + marker); err == nil {
			t.Fatalf("tar %q wrote /%s on the host", tc, marker)
		}
		if got := sh(t, c, "find / -xdev -name '"+marker+"*' | grep -v ^/tmp/dest/ || true"); got != "" {
			t.Errorf("tar %q wrote outside the destination: %q", tc, got)
		}
	}
}

// TestCopyStoppedAndVolumes: a created and a stopped container are reached as well,
// their volumes included; a read-only root refuses writes but its volume takes them.
func TestCopyStoppedAndVolumes(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	vol := testutil.RandomName("cpvol")
	c, err := e.Create(ctx, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, ReadonlyRootfs: true,
		Mounts: []skiff.Mount{{Type: skiff.MountVolume, Source: vol, Target: "/data"}},
		Cmd:    []string{"sh", "-c", "cat /data/before"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Delete(ctx, skiff.WithForce())
		e.RemoveVolume(ctx, vol, skiff.RemoveVolumeOptions{Force: true})
	})
	// Files before start (testcontainers' Files): the volume of a created container.
	if err := c.CopyTo(ctx, "/data", mkTar(t, "file before made before start"), skiff.CopyToOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.CopyTo(ctx, "/etc", mkTar(t, "file x x"), skiff.CopyToOptions{}); !errors.Is(err, skiff.ErrReadOnlyPath) {
		t.Errorf("CopyTo the read-only root: %v, want ErrReadOnlyPath", err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Wait(ctx); err != nil || st.Code != 0 {
		t.Fatalf("container reading /data/before: %+v %v", st, err)
	}
	// Stopped: the volume is still reached through the container's path, and the root
	// is still read-only.
	if err := c.CopyTo(ctx, "/data", mkTar(t, "file after written while stopped"), skiff.CopyToOptions{}); err != nil {
		t.Fatal(err)
	}
	v, err := e.Volume(ctx, vol)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(v.Mountpoint, "after")); err != nil || string(b) != "written while stopped" {
		t.Errorf("volume on the host: %q %v", b, err)
	}
	if err := c.CopyTo(ctx, "/", mkTar(t, "file x x"), skiff.CopyToOptions{}); !errors.Is(err, skiff.ErrReadOnlyPath) {
		t.Errorf("CopyTo the read-only root of a stopped container: %v, want ErrReadOnlyPath", err)
	}
	rc, st, err := c.CopyFrom(ctx, "/data/before")
	if err != nil {
		t.Fatal(err)
	}
	if got := tarList(t, rc); !slices.Equal(got, []string{"before 0 made before start"}) || st.Size != 17 {
		t.Errorf("CopyFrom a stopped container's volume: %q %+v", got, st)
	}
	rc.Close()
	rc, _, err = c.CopyFrom(ctx, "/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	if got := tarList(t, rc); len(got) != 1 || !strings.HasPrefix(got[0], "passwd 0 root:") {
		t.Errorf("CopyFrom /etc/passwd of a stopped container: %q", got)
	}
	rc.Close()
}

// TestExport: the root filesystem with the container's changes, without its volumes
// and the kernel's file systems.
func TestExport(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	c := startBackground(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Cmd: []string{"sleep", "60"},
		Mounts: []skiff.Mount{{Type: skiff.MountTmpfs, Target: "/scratch"}}})
	sh(t, c, "echo changed > /etc/motd && echo gone > /scratch/f && rm /etc/passwd")
	for _, when := range []string{"running", "stopped"} {
		rc, err := c.Export(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, l := range tarList(t, rc) {
			name, rest, _ := strings.Cut(l, " ")
			got[name] = rest
		}
		rc.Close()
		if got["etc/motd"] != "0 changed\n" || got["bin/"] != "5" || got["bin/busybox"] == "" {
			t.Errorf("%s: export lacks the image's files or the changes: motd %q, bin %q", when, got["etc/motd"], got["bin/"])
		}
		for _, name := range []string{"etc/passwd", "scratch/f", "proc/self/", "./", ""} {
			if _, ok := got[name]; ok {
				t.Errorf("%s: export has %q", when, name)
			}
		}
		if when == "running" {
			if err := c.Kill(ctx, 9); err != nil {
				t.Fatal(err)
			}
			c.Wait(ctx)
		}
	}
}

// TestExtractTarHost: the host side of docker cp keeps every entry inside its
// directory, and TarPath's tar extracts back to the same tree.
func TestExtractTarHost(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	dir := filepath.Join(parent, "in")
	os.Mkdir(dir, 0o755)
	for _, tc := range [][]string{
		{"file ../outside x"},
		{"symlink up ..", "file up/outside x"},
		{"symlink abs " + parent, "file abs/outside x"},
		{"link l ../outside"},
	} {
		if err := skiff.ExtractTar(ctx, dir, mkTar(t, tc...), skiff.ExtractOptions{}); !errors.Is(err, skiff.ErrArchiveEntry) {
			t.Errorf("tar %q: %v, want ErrArchiveEntry", tc, err)
		}
		if _, err := os.Lstat(filepath.Join(parent, "outside")); err == nil {
			t.Fatalf("tar %q wrote outside its directory", tc)
		}
	}
	src := t.TempDir()
	if err := skiff.ExtractTar(ctx, src, mkTar(t, "dir t/", "file t/f data", "symlink t/l f", "link t/h t/f"), skiff.ExtractOptions{}); err != nil {
		t.Fatal(err)
	}
	rc, err := skiff.TarPath(ctx, filepath.Join(src, "t"), "copy")
	if err != nil {
		t.Fatal(err)
	}
	got := tarList(t, rc)
	rc.Close()
	slices.Sort(got)
	if !slices.Equal(got, []string{"copy/ 5", "copy/f 0 data", "copy/h 1 copy/f", "copy/l 2 f"}) &&
		!slices.Equal(got, []string{"copy/ 5", "copy/f 1 copy/h", "copy/h 0 data", "copy/l 2 f"}) {
		t.Errorf("TarPath: %q", got)
	}
}

// The host side of docker cp: a directory as a tar stream, extracted elsewhere under
// its new name.
func ExampleTarPath() {
	ctx := context.Background()
	src, _ := os.MkdirTemp("", "skiff-example-")
	defer os.RemoveAll(src)
	os.WriteFile(filepath.Join(src, "hello.txt"), []byte("hello\n"), 0o644)

	rc, err := skiff.TarPath(ctx, src, "copy")
	if err != nil {
		panic(err)
	}
	defer rc.Close()
	dst, _ := os.MkdirTemp("", "skiff-example-")
	defer os.RemoveAll(dst)
	if err := skiff.ExtractTar(ctx, dst, rc, skiff.ExtractOptions{}); err != nil {
		panic(err)
	}
	b, _ := os.ReadFile(filepath.Join(dst, "copy", "hello.txt"))
	fmt.Print(string(b))
	// Output: hello
}

// TestCopyToRacingSymlink: a container that swaps its destination directory for a
// symlink to / while files are copied in never makes a copy land on the host.
func TestCopyToRacingSymlink(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	marker := testutil.RandomName("skiff-race-")
	t.Cleanup(func() { os.Remove("/" + marker); os.Remove("/tmp/" + marker) })
	c := startBackground(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Cmd: []string{"sh", "-c",
		"cd /tmp; while :; do mkdir -p d/sub; mv d d.old; ln -s / d; rm d; mv d.old d; rm -rf d.old; done"}})
	landed := 0
	for i := range 200 {
		err := c.CopyTo(ctx, "/tmp/d", mkTar(t, "file sub/"+marker+" x"), skiff.CopyToOptions{})
		if err == nil {
			landed++
		}
		for _, p := range []string{"/" + marker, "/sub/" + marker, "/tmp/" + marker} {
			if _, err := os.Lstat(p); err == nil {
				t.Fatalf("copy %d landed on the host at %s", i, p)
			}
		}
	}
	t.Logf("%d of 200 copies went through the racing directory", landed)
}

// TestCopyUnmountedRoot: a stopped container whose root filesystem the host no longer
// has mounted (after a reboot) is mounted for the copy in a namespace of its own only.
func TestCopyUnmountedRoot(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	c, err := e.Create(ctx, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Cmd: []string{"sh", "-c", "echo kept > /kept"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Delete(ctx, skiff.WithForce()) })
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c.Wait(ctx)
	merged := filepath.Join(e.Root(), "containers", c.ID(), "merged")
	if err := unix.Unmount(merged, 0); err != nil {
		t.Fatal(err)
	}
	rc, _, err := c.CopyFrom(ctx, "/kept")
	if err != nil {
		t.Fatal(err)
	}
	if got := tarList(t, rc); !slices.Equal(got, []string{"kept 0 kept\n"}) {
		t.Errorf("CopyFrom of an unmounted root: %q", got)
	}
	rc.Close()
	if err := c.CopyTo(ctx, "/", mkTar(t, "file added x"), skiff.CopyToOptions{}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := mountinfo.Mounted(merged); ok {
		t.Errorf("the copy left %s mounted on the host", merged)
	}
	if changes, err := c.Changes(ctx); err != nil || len(changes) != 2 {
		t.Errorf("changes after a copy into the unmounted root: %v %v, want /added and /kept", changes, err)
	}
}
