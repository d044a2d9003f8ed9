package cgroup

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestThrottleSettings(t *testing.T) {
	rules := []ThrottleRule{{Major: 8, Minor: 0, Kind: ReadBps, Rate: 1 << 20}, {Major: 8, Minor: 16, Kind: WriteIOPS}}
	s, err := throttleSettings(rules, false)
	if err != nil || len(s) != 2 || s[0].String() != "blkio.throttle.read_bps_device=8:0 1048576" ||
		s[1].String() != "blkio.throttle.write_iops_device=8:16 0" {
		t.Fatalf("v1: %v %v", s, err)
	}
	s, err = throttleSettings(rules, true)
	if err != nil || len(s) != 2 || s[0].String() != "io.max=8:0 rbps=1048576" || s[1].String() != "io.max=8:16 wiops=max" {
		t.Fatalf("v2: %v %v", s, err)
	}
	if _, err := throttleSettings([]ThrottleRule{{Kind: "bps"}}, false); !errors.Is(err, ErrInvalidResources) {
		t.Fatalf("kind bps: %v, want ErrInvalidResources", err)
	}
}

// TestApplyExtraThrottle checks with the kernel: reading 2 MiB with O_DIRECT from a
// loop device capped at 1 MiB/s takes more than a second in the cgroup.
func TestApplyExtraThrottle(t *testing.T) {
	requireRoot(t)
	_, err := exec.LookPath("losetup")
	require(t, "losetup (util-linux)", err == nil)
	img := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(img, make([]byte, 4<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "--find", "--show", img).Output()
	if err != nil {
		t.Fatalf("losetup: %v", err)
	}
	loop := strings.TrimSpace(string(out))
	t.Cleanup(func() { _ = exec.Command("losetup", "-d", loop).Run() })
	var st unix.Stat_t
	if err := unix.Stat(loop, &st); err != nil {
		t.Fatal(err)
	}
	major, minor := int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	for _, b := range backends(t) {
		if b.name != "v1" {
			continue // a hybrid host's cgroup2 has no io controller
		}
		t.Run(b.name, func(t *testing.T) {
			m := newTestCgroup(t, b, Resources{})
			if err := ApplyExtra(m, Extra{Throttle: []ThrottleRule{{Major: major, Minor: minor, Kind: ReadBps, Rate: 1 << 20}}}); err != nil {
				t.Fatal(err)
			}
			got, err := readFile("/sys/fs/cgroup/blkio" + m.Path() + "/blkio.throttle.read_bps_device")
			dev := strconv.FormatInt(major, 10) + ":" + strconv.FormatInt(minor, 10)
			if err != nil || strings.TrimSpace(got) != dev+" 1048576" {
				t.Fatalf("read_bps_device %q, %v; want %s 1048576", got, err, dev)
			}
			// The shell waits for a byte on stdin, sent once it is in the cgroup.
			c := startCmd(t, exec.Command("sh", "-c", "exec 2>&1; head -c 1 >/dev/null; dd if="+loop+" of=/dev/null bs=64k count=32 iflag=direct"))
			if err := m.AddProc(c.pid()); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			c.release(t)
			werr := c.wait(t, 60*time.Second)
			if took := time.Since(start); werr != nil || took < time.Second {
				o, _ := io.ReadAll(c.stdout)
				t.Fatalf("2 MiB read at 1 MiB/s took %v (%v): %s", took, werr, o)
			}
		})
	}
}
