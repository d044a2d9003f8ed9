package skiff

import (
	"context"
	"fmt"
	"path"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Mount types of ContainerConfig.Mounts.
const (
	MountBind   = "bind"   // a host path
	MountVolume = "volume" // a named volume under Root()/volumes, created on first use
	MountTmpfs  = "tmpfs"  // a fresh tmpfs
)

// Mount is a filesystem mounted into a container (docker run -v / --mount / --tmpfs).
type Mount struct {
	// Type is MountBind, MountVolume or MountTmpfs.
	Type string
	// Source is the host path (bind) or the volume name (volume; empty makes an
	// anonymous volume). Unused for tmpfs.
	Source string
	// Target is the absolute path inside the container.
	Target string
	// ReadOnly mounts it read-only.
	ReadOnly bool
	// Propagation of a bind mount: "rprivate" (default), "private", "rshared",
	// "shared", "rslave" or "slave".
	Propagation string
	// TmpfsSize in bytes (0: the kernel's default, half of RAM) and TmpfsMode (0:
	// 1777) of a tmpfs mount.
	TmpfsSize int64
	TmpfsMode uint32
}

// mountSpecs turns cfg.Mounts into OCI mounts. rootfs is the container's mounted root,
// from which a new named volume is seeded. Volumes are resolved by resolveVolume.
func (e *Engine) mountSpecs(ctx context.Context, id string, mounts []Mount, rootfs string) ([]specs.Mount, error) {
	var out []specs.Mount
	for i, m := range mounts {
		field := fmt.Sprintf("Mounts[%d]", i)
		if !path.IsAbs(m.Target) || path.Clean(m.Target) == "/" {
			return nil, fmt.Errorf("%w: %s.Target %q: must be an absolute path other than /", ErrInvalidConfig, field, m.Target)
		}
		opts := []string{}
		if m.ReadOnly {
			opts = append(opts, "ro")
		}
		switch m.Type {
		case MountBind, MountVolume:
			src := m.Source
			if m.Type == MountVolume {
				dir, err := e.resolveVolume(ctx, id, m, rootfs)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", field, err)
				}
				src = dir
			} else if !path.IsAbs(src) {
				return nil, fmt.Errorf("%w: %s.Source %q: a bind mount needs an absolute host path", ErrInvalidConfig, field, src)
			}
			prop := m.Propagation
			if prop == "" {
				prop = "rprivate"
			}
			switch prop {
			case "rprivate", "private", "rshared", "shared", "rslave", "slave":
			default:
				return nil, fmt.Errorf("%w: %s.Propagation %q", ErrInvalidConfig, field, prop)
			}
			out = append(out, specs.Mount{Destination: path.Clean(m.Target), Type: "bind", Source: src,
				Options: append(opts, "rbind", prop)})
		case MountTmpfs:
			mode := m.TmpfsMode
			if mode == 0 {
				mode = 0o1777
			}
			opts = append(opts, "nosuid", "nodev", "mode="+strconv.FormatUint(uint64(mode), 8))
			if m.TmpfsSize > 0 {
				opts = append(opts, "size="+strconv.FormatInt(m.TmpfsSize, 10))
			}
			out = append(out, specs.Mount{Destination: path.Clean(m.Target), Type: "tmpfs", Source: "tmpfs", Options: opts})
		default:
			return nil, fmt.Errorf("%w: %s.Type %q: want bind, volume or tmpfs", ErrInvalidConfig, field, m.Type)
		}
	}
	return out, nil
}
