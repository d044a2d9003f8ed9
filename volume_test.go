package skiff_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/skiffrt/skiff"
)

// TestVolumeSeededAndKept: a named volume is created on first use, seeded from the
// image's content at its target (modes, owners and symlinks kept), survives the
// container's removal, and a second container sees the first one's writes.
func TestVolumeSeededAndKept(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	vol := func(name, target string) []skiff.Mount {
		return []skiff.Mount{{Type: skiff.MountVolume, Source: name, Target: target}}
	}
	// /opt/dir of the image: only c (layer 3's opaque dir hides a and b).
	stat := "ls /opt/dir; stat -c '%n %a %u:%g %s' /opt/dir /opt/dir/c"
	plain, _, _ := run(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Cmd: []string{"sh", "-c", stat}})
	out, errOut, st := run(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Mounts: vol("data", "/opt/dir"),
		Cmd: []string{"sh", "-c", stat + " && echo first > /opt/dir/new"}})
	if st.Code != 0 || out != plain {
		t.Fatalf("seeded volume at /opt/dir: %q (exit %d, %s), want the image's %q", out, st.Code, errOut, plain)
	}
	v, err := e.Volume(ctx, "data")
	if err != nil {
		t.Fatalf("volume after its container was removed: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(v.Mountpoint, "new")); err != nil || string(b) != "first\n" {
		t.Errorf("volume content on the host: %q %v", b, err)
	}
	out, _, _ = run(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Mounts: vol("data", "/opt/dir"),
		Cmd: []string{"sh", "-c", "ls /opt/dir; cat /opt/dir/new"}})
	if out != "c\nnew\nfirst\n" {
		t.Errorf("second container sees %q, want c, new and the first one's write", out)
	}

	// A volume over /bin: busybox and its applet symlinks are copied as they are, so the
	// shell still runs from the volume.
	out, errOut, st = run(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Mounts: vol("bin", "/bin"),
		Cmd: []string{"sh", "-c", "readlink /bin/sh; stat -c %a /bin/busybox; grep -c ' /bin ' /proc/self/mountinfo"}})
	if st.Code != 0 || out != "busybox\n755\n1\n" {
		t.Errorf("volume at /bin: %q exit %d %s", out, st.Code, errOut)
	}

	// An anonymous volume gets a 64-hex name and is kept too.
	c := startBackground(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone,
		Mounts: []skiff.Mount{{Type: skiff.MountVolume, Target: "/etc"}}, Cmd: []string{"sleep", "60"}})
	names := c.Volumes()
	if len(names) != 1 || len(names[0]) != 64 {
		t.Fatalf("anonymous volume names %q", names)
	}
	av, err := e.Volume(ctx, names[0])
	if err != nil || !av.Anonymous {
		t.Fatalf("anonymous volume: %+v %v", av, err)
	}
	if b, err := os.ReadFile(filepath.Join(av.Mountpoint, "motd")); err != nil || string(b) != "welcome\n" {
		t.Errorf("anonymous volume at /etc not seeded: %q %v", b, err)
	}
}

// TestVolumeRemoveInUse: rm refuses a volume a container mounts (running or stopped)
// unless forced; prune removes only unused volumes (anonymous ones by default).
func TestVolumeRemoveInUse(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	labels := map[string]string{"team": "x"}
	if _, err := e.CreateVolume(ctx, "keep", labels); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateVolume(ctx, "keep", map[string]string{"team": "y"}); !errors.Is(err, skiff.ErrVolumeExists) {
		t.Errorf("create with other labels: %v, want ErrVolumeExists", err)
	}
	if v, err := e.CreateVolume(ctx, "keep", nil); err != nil || v.Labels["team"] != "x" {
		t.Errorf("create again: %+v %v, want the existing volume", v, err)
	}
	if _, err := e.CreateVolume(ctx, "../evil", nil); !errors.Is(err, skiff.ErrInvalidConfig) {
		t.Errorf("create ../evil: %v, want ErrInvalidConfig", err)
	}
	c, err := e.Create(ctx, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Cmd: []string{"true"},
		Mounts: []skiff.Mount{{Type: skiff.MountVolume, Source: "keep", Target: "/data"}, {Type: skiff.MountVolume, Target: "/anon"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Delete(ctx, skiff.WithForce())
	if users, _ := e.VolumeUsers(ctx, "keep"); !slices.Equal(users, []string{c.ID()}) {
		t.Errorf("users of keep: %q", users)
	}
	err = e.RemoveVolume(ctx, "keep", skiff.RemoveVolumeOptions{})
	if !errors.Is(err, skiff.ErrVolumeInUse) || !strings.Contains(err.Error(), c.ID()[:12]) {
		t.Errorf("remove a volume in use: %v, want ErrVolumeInUse naming the container", err)
	}
	if pruned, err := e.PruneVolumes(ctx, skiff.VolumePrune{All: true}); err != nil || len(pruned) != 0 {
		t.Errorf("prune while used: %q %v", pruned, err)
	}
	if err := c.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateVolume(ctx, "named-unused", nil); err != nil {
		t.Fatal(err)
	}
	pruned, err := e.PruneVolumes(ctx, skiff.VolumePrune{})
	if err != nil || len(pruned) != 1 || len(pruned[0]) != 64 {
		t.Errorf("prune: %q %v, want only the anonymous volume", pruned, err)
	}
	if err := e.RemoveVolume(ctx, "keep", skiff.RemoveVolumeOptions{}); err != nil {
		t.Errorf("remove an unused volume: %v", err)
	}
	if err := e.RemoveVolume(ctx, "keep", skiff.RemoveVolumeOptions{}); !errors.Is(err, skiff.ErrVolumeNotFound) {
		t.Errorf("remove twice: %v, want ErrVolumeNotFound", err)
	}
	pruned, err = e.PruneVolumes(ctx, skiff.VolumePrune{All: true})
	if err != nil || !slices.Equal(pruned, []string{"named-unused"}) {
		t.Errorf("prune -a: %q %v", pruned, err)
	}
	if vs, err := e.Volumes(ctx); err != nil || len(vs) != 0 {
		t.Errorf("volumes left: %v %v", vs, err)
	}

	// Force removes a volume in use.
	c2 := startBackground(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Cmd: []string{"sleep", "60"},
		Mounts: []skiff.Mount{{Type: skiff.MountVolume, Source: "forced", Target: "/data"}}})
	if err := e.RemoveVolume(ctx, "forced", skiff.RemoveVolumeOptions{Force: true}); err != nil {
		t.Errorf("force remove: %v", err)
	}
	_ = c2
}

func TestTmpfsMount(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	out, errOut, st := run(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone,
		Mounts: []skiff.Mount{{Type: skiff.MountTmpfs, Target: "/scratch", TmpfsSize: 8 << 20, TmpfsMode: 0o700}},
		Cmd:    []string{"sh", "-c", "df -k /scratch | tail -1 | awk '{print $1, $2}'; stat -c %a /scratch; echo x > /scratch/f && cat /scratch/f"}})
	if st.Code != 0 || out != "tmpfs 8192\n700\nx\n" {
		t.Errorf("tmpfs size=8m mode=700: %q exit %d %s", out, st.Code, errOut)
	}
}

func TestBindMounts(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "f"), []byte("host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bind := func(ro bool, prop string) []skiff.Mount {
		return []skiff.Mount{{Type: skiff.MountBind, Source: host, Target: "/mnt/h", ReadOnly: ro, Propagation: prop}}
	}
	out, _, st := run(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Mounts: bind(true, ""),
		Cmd: []string{"sh", "-c", "cat /mnt/h/f; echo x > /mnt/h/f 2>/dev/null; echo rc=$?"}})
	if st.Code != 0 || out != "host\nrc=1\n" {
		t.Errorf("read-only bind: %q", out)
	}
	out, _, st = run(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Mounts: bind(false, ""),
		Cmd: []string{"sh", "-c", "echo from-container > /mnt/h/g"}})
	if b, err := os.ReadFile(filepath.Join(host, "g")); st.Code != 0 || err != nil || string(b) != "from-container\n" {
		t.Errorf("read-write bind: host sees %q %v (%q)", b, err, out)
	}
	// rshared: the mount is a shared peer inside the container.
	out, _, st = run(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Mounts: bind(false, "rshared"),
		Cmd: []string{"sh", "-c", "grep ' /mnt/h ' /proc/self/mountinfo"}})
	if st.Code != 0 || !strings.Contains(out, " shared:") {
		t.Errorf("rshared bind: mountinfo %q, want a shared peer group", out)
	}
	if _, err := e.Create(context.Background(), skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone,
		Mounts: bind(false, "bogus"), Cmd: []string{"true"}}); !errors.Is(err, skiff.ErrInvalidConfig) {
		t.Errorf("propagation bogus: %v, want ErrInvalidConfig", err)
	}
}
