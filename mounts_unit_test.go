package skiff

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestMountSpecs turns bind and tmpfs mounts into OCI mounts without root: neither
// touches the engine or the kernel (volumes do, and are tested with a real engine).
func TestMountSpecs(t *testing.T) {
	e := &Engine{}
	for _, tc := range []struct {
		name string
		in   Mount
		want specs.Mount
	}{
		{"bind, defaults", Mount{Type: MountBind, Source: "/srv/data", Target: "/data"},
			specs.Mount{Destination: "/data", Type: "bind", Source: "/srv/data", Options: []string{"rbind", "rprivate"}}},
		{"bind read-only, shared, target cleaned", Mount{Type: MountBind, Source: "/srv", Target: "/a/../b/", ReadOnly: true, Propagation: "rshared"},
			specs.Mount{Destination: "/b", Type: "bind", Source: "/srv", Options: []string{"ro", "rbind", "rshared"}}},
		{"bind slave", Mount{Type: MountBind, Source: "/srv", Target: "/x", Propagation: "slave"},
			specs.Mount{Destination: "/x", Type: "bind", Source: "/srv", Options: []string{"rbind", "slave"}}},
		{"tmpfs, defaults", Mount{Type: MountTmpfs, Target: "/run"},
			specs.Mount{Destination: "/run", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=1777"}}},
		{"tmpfs sized, mode, read-only", Mount{Type: MountTmpfs, Target: "/cache", TmpfsSize: 64 << 20, TmpfsMode: 0o750, ReadOnly: true},
			specs.Mount{Destination: "/cache", Type: "tmpfs", Source: "tmpfs", Options: []string{"ro", "nosuid", "nodev", "mode=750", "size=67108864"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.mountSpecs(t.Context(), "c1", []Mount{tc.in}, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || !reflect.DeepEqual(got[0], tc.want) {
				t.Errorf("mount\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}

	ok := Mount{Type: MountTmpfs, Target: "/ok"}
	for _, tc := range []struct {
		name  string
		in    Mount
		field string // the config field the error names
	}{
		{"relative target", Mount{Type: MountTmpfs, Target: "data"}, "Mounts[1].Target"},
		{"target /", Mount{Type: MountBind, Source: "/srv", Target: "/"}, "Mounts[1].Target"},
		{"target cleaning to /", Mount{Type: MountBind, Source: "/srv", Target: "/x/.."}, "Mounts[1].Target"},
		{"relative bind source", Mount{Type: MountBind, Source: "srv", Target: "/x"}, "Mounts[1].Source"},
		{"empty bind source", Mount{Type: MountBind, Target: "/x"}, "Mounts[1].Source"},
		{"bad propagation", Mount{Type: MountBind, Source: "/srv", Target: "/x", Propagation: "shared-ish"}, "Mounts[1].Propagation"},
		{"unknown type", Mount{Type: "nfs", Source: "/srv", Target: "/x"}, "Mounts[1].Type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.mountSpecs(t.Context(), "c1", []Mount{ok, tc.in}, "")
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("mountSpecs = %+v, %v; want ErrInvalidConfig naming %s", got, err, tc.field)
			}
		})
	}

	// Several mounts keep their order.
	got, err := e.mountSpecs(t.Context(), "c1", []Mount{ok, {Type: MountBind, Source: "/a", Target: "/a"}}, "")
	if err != nil || len(got) != 2 || got[0].Destination != "/ok" || got[1].Destination != "/a" {
		t.Errorf("two mounts: %+v, %v", got, err)
	}
}
