package main

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	units "github.com/docker/go-units"

	"github.com/skiffrt/skiff"
)

var propagations = map[string]bool{"private": true, "rprivate": true, "shared": true, "rshared": true, "slave": true, "rslave": true}

// parseVolumeFlag parses docker's -v [SOURCE:]TARGET[:OPTIONS]: an absolute SOURCE is a
// host path (bind mount, created when missing, as docker does), any other a volume
// name; no SOURCE makes an anonymous volume. OPTIONS are comma-separated ro, rw,
// a propagation mode, z/Z (ignored: no SELinux) and nocopy.
func parseVolumeFlag(spec string) (skiff.Mount, error) {
	bad := func(why string) (skiff.Mount, error) {
		return skiff.Mount{}, fmt.Errorf("invalid volume specification: '%s': %s", spec, why)
	}
	parts := strings.Split(spec, ":")
	var m skiff.Mount
	var opts string
	switch len(parts) {
	case 1:
		m.Type, m.Target = skiff.MountVolume, parts[0]
	case 2:
		if isVolumeMode(parts[1]) {
			return bad("a volume without a source cannot have a mode")
		}
		m.Source, m.Target = parts[0], parts[1]
	case 3:
		m.Source, m.Target, opts = parts[0], parts[1], parts[2]
	default:
		return bad("too many colons")
	}
	if m.Source != "" {
		if path.IsAbs(m.Source) {
			m.Type = skiff.MountBind
		} else {
			m.Type = skiff.MountVolume
		}
	}
	if !path.IsAbs(m.Target) {
		return bad("invalid mount config: the container path must be absolute")
	}
	if opts != "" {
		if !isVolumeMode(opts) {
			return bad("invalid mode: " + opts)
		}
		for _, o := range strings.Split(opts, ",") {
			switch {
			case o == "ro":
				m.ReadOnly = true
			case propagations[o]:
				if m.Type != skiff.MountBind {
					return bad("propagation is only for bind mounts")
				}
				m.Propagation = o
			}
		}
	}
	if m.Type == skiff.MountBind {
		if err := os.MkdirAll(m.Source, 0o755); err != nil {
			return bad(err.Error())
		}
	}
	return m, nil
}

func isVolumeMode(s string) bool {
	for _, o := range strings.Split(s, ",") {
		switch {
		case o == "ro", o == "rw", o == "z", o == "Z", o == "nocopy", propagations[o]:
		default:
			return false
		}
	}
	return true
}

// parseMountFlag parses docker's --mount type=bind|volume|tmpfs,source=..,target=..,
// readonly, bind-propagation=.., tmpfs-size=.., tmpfs-mode=...
func parseMountFlag(spec string) (skiff.Mount, error) {
	bad := func(why string) (skiff.Mount, error) {
		return skiff.Mount{}, fmt.Errorf("invalid argument %q for \"--mount\" flag: %s", spec, why)
	}
	m := skiff.Mount{Type: skiff.MountVolume}
	for _, field := range strings.Split(spec, ",") {
		k, v, hasValue := strings.Cut(field, "=")
		switch strings.ToLower(k) {
		case "type":
			m.Type = v
		case "source", "src":
			m.Source = v
		case "target", "destination", "dst":
			m.Target = v
		case "readonly", "ro":
			ro, err := strconv.ParseBool(v)
			if hasValue && err != nil {
				return bad("invalid value for readonly: " + v)
			}
			m.ReadOnly = !hasValue || ro
		case "bind-propagation":
			if !propagations[v] {
				return bad("invalid propagation mode: " + v)
			}
			m.Propagation = v
		case "tmpfs-size":
			n, err := units.RAMInBytes(v)
			if err != nil {
				return bad(err.Error())
			}
			m.TmpfsSize = n
		case "tmpfs-mode":
			n, err := strconv.ParseUint(v, 8, 32)
			if err != nil {
				return bad("invalid tmpfs-mode: " + v)
			}
			m.TmpfsMode = uint32(n)
		case "volume-nocopy", "volume-driver", "volume-label", "consistency", "bind-nonrecursive":
		default:
			return bad("unexpected key '" + k + "'")
		}
	}
	switch m.Type {
	case skiff.MountBind:
		if m.Source == "" {
			return bad("source is required for a bind mount")
		}
		if _, err := os.Stat(m.Source); err != nil {
			return bad("bind source path does not exist: " + m.Source)
		}
	case skiff.MountVolume, skiff.MountTmpfs:
	default:
		return bad("invalid mount type " + m.Type)
	}
	if m.Target == "" {
		return bad("target is required")
	}
	return m, nil
}

// parseTmpfsFlag parses docker's --tmpfs /path[:size=64m,mode=1777,...]; other
// options (noexec, ...) are not supported.
func parseTmpfsFlag(spec string) (skiff.Mount, error) {
	target, opts, _ := strings.Cut(spec, ":")
	m := skiff.Mount{Type: skiff.MountTmpfs, Target: target}
	if opts == "" {
		return m, nil
	}
	for _, o := range strings.Split(opts, ",") {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "size":
			n, err := units.RAMInBytes(v)
			if err != nil {
				return m, fmt.Errorf("invalid tmpfs size %q: %w", v, err)
			}
			m.TmpfsSize = n
		case "mode":
			n, err := strconv.ParseUint(v, 8, 32)
			if err != nil {
				return m, fmt.Errorf("invalid tmpfs mode %q: %w", v, err)
			}
			m.TmpfsMode = uint32(n)
		case "rw", "nosuid", "nodev", "exec", "noexec":
			if k == "noexec" || k == "exec" {
				return m, errors.New("--tmpfs: exec/noexec are not supported yet")
			}
		default:
			return m, fmt.Errorf("--tmpfs %s: unsupported option %q", spec, o)
		}
	}
	return m, nil
}
