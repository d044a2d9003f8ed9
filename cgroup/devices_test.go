package cgroup

import (
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestDeviceRuleString(t *testing.T) {
	one, three, any := int64(1), int64(3), int64(-1)
	for _, tc := range []struct {
		r    DeviceRule
		want string
	}{
		{DeviceRule{}, "a"},
		{DeviceRule{Type: "a", Access: "rwm"}, "a"},
		{DeviceRule{Allow: true, Type: "c", Major: &one, Minor: &three, Access: "rw"}, "c 1:3 rw"},
		{DeviceRule{Allow: true, Type: "c", Major: &one}, "c 1:* rwm"},
		{DeviceRule{Type: "b", Major: &any, Minor: &any, Access: "m"}, "b *:* m"},
	} {
		if got := tc.r.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.r, got, tc.want)
		}
	}
	if _, err := deviceSettings([]DeviceRule{{Type: "x"}}, false); !errors.Is(err, ErrInvalidResources) {
		t.Errorf("type x: %v, want ErrInvalidResources", err)
	}
	if _, err := deviceSettings([]DeviceRule{{Type: "c", Access: "rwx"}}, false); !errors.Is(err, ErrInvalidResources) {
		t.Errorf("access rwx: %v, want ErrInvalidResources", err)
	}
	if _, err := deviceSettings([]DeviceRule{{}}, true); !errors.Is(err, ErrNotSupported) {
		t.Errorf("rules on v2: %v, want ErrNotSupported", err)
	}
}

// TestApplyExtraDevices checks with the kernel: after "deny all, allow /dev/null", a
// process in the cgroup opens /dev/null but not /dev/zero.
func TestApplyExtraDevices(t *testing.T) {
	requireRoot(t)
	for _, b := range backends(t) {
		if b.name != "v1" {
			continue // v2 refuses device rules (see TestDeviceRuleString)
		}
		t.Run(b.name, func(t *testing.T) {
			m := newTestCgroup(t, b, Resources{})
			one, three := int64(1), int64(3)
			rules := []DeviceRule{{Allow: false, Access: "rwm"}, {Allow: true, Type: "c", Major: &one, Minor: &three, Access: "rw"}}
			if err := ApplyExtra(m, Extra{Devices: rules}); err != nil {
				t.Fatal(err)
			}
			list, err := readFile("/sys/fs/cgroup/devices" + m.Path() + "/devices.list")
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(list) != "c 1:3 rw" {
				t.Errorf("devices.list %q, want only c 1:3 rw", list)
			}
			// The shell waits for a byte on stdin, sent once it is in the cgroup.
			c := startCmd(t, exec.Command("sh", "-c", "exec 2>&1; head -c 1 >/dev/null; echo x > /dev/null && echo null-ok; head -c 1 /dev/zero >/dev/null || echo zero-denied"))
			if err := m.AddProc(c.pid()); err != nil {
				t.Fatal(err)
			}
			c.release(t)
			c.wait(t, 30*time.Second)
			out, _ := io.ReadAll(c.stdout)
			if got := string(out); !strings.Contains(got, "null-ok\n") || !strings.Contains(got, "zero-denied\n") ||
				!strings.Contains(got, "Operation not permitted") {
				t.Fatalf("in a cgroup allowing /dev/null only: %q", got)
			}
		})
	}
}
