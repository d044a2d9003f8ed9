package dockeropts

import (
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	units "github.com/docker/go-units"

	"github.com/skiffrt/skiff"
)

var propagations = map[string]bool{"private": true, "rprivate": true, "shared": true, "rshared": true, "slave": true, "rslave": true}

// ParseVolume parses docker's -v [SOURCE:]TARGET[:OPTIONS] (also an entry of
// HostConfig.Binds): an absolute SOURCE is a host path (a bind mount), any other a
// volume name; no SOURCE makes an anonymous volume. OPTIONS are comma-separated ro,
// rw, a propagation mode, z/Z (ignored: no SELinux) and nocopy.
func ParseVolume(spec string) (skiff.Mount, error) {
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
	} else if len(parts) > 1 {
		return bad("empty source")
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

// CreateBindSource makes the missing host directory of a -v bind mount, as Docker
// does; other mounts are left alone.
func CreateBindSource(m skiff.Mount) error {
	if m.Type != skiff.MountBind {
		return nil
	}
	if err := os.MkdirAll(m.Source, 0o755); err != nil {
		return fmt.Errorf("invalid volume specification: bind source %s: %w", m.Source, err)
	}
	return nil
}

// CheckBindSource refuses a --mount bind mount whose host path does not exist (Docker
// creates it only for -v).
func CheckBindSource(m skiff.Mount) error {
	if m.Type != skiff.MountBind {
		return nil
	}
	if _, err := os.Stat(m.Source); err != nil {
		return fmt.Errorf("invalid mount config for type \"bind\": bind source path does not exist: %s", m.Source)
	}
	return nil
}

// ParseMount parses docker's --mount type=bind|volume|tmpfs,source=..,target=..,
// readonly, bind-propagation=.., tmpfs-size=.., tmpfs-mode=... Fields Skiff has no
// use for (volume-nocopy, volume-driver, consistency, ...) are accepted and ignored.
func ParseMount(spec string) (skiff.Mount, error) {
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
		case "volume-nocopy", "volume-driver", "volume-label", "volume-opt", "consistency", "bind-nonrecursive":
		default:
			return bad("unexpected key '" + k + "'")
		}
	}
	return m, checkMount(m, bad)
}

// checkMount checks what every mount of a kind needs.
func checkMount(m skiff.Mount, bad func(string) (skiff.Mount, error)) error {
	var err error
	switch m.Type {
	case skiff.MountBind:
		if m.Source == "" {
			_, err = bad("source is required for a bind mount")
		}
	case skiff.MountVolume, skiff.MountTmpfs:
	default:
		_, err = bad("invalid mount type " + strconv.Quote(m.Type))
	}
	if err == nil && m.Target == "" {
		_, err = bad("target is required")
	}
	return err
}

// APIMount is an entry of the Engine API's HostConfig.Mounts (the fields Skiff uses).
type APIMount struct {
	Type, Source, Target string
	ReadOnly             bool
	BindOptions          *struct{ Propagation string }
	TmpfsOptions         *struct {
		SizeBytes int64
		Mode      uint32
	}
}

// FromAPIMount converts an entry of HostConfig.Mounts, checked as --mount is.
func FromAPIMount(am APIMount) (skiff.Mount, error) {
	m := skiff.Mount{Type: am.Type, Source: am.Source, Target: am.Target, ReadOnly: am.ReadOnly}
	bad := func(why string) (skiff.Mount, error) {
		return skiff.Mount{}, fmt.Errorf("invalid mount config for type %q: %s", am.Type, why)
	}
	if am.BindOptions != nil && am.BindOptions.Propagation != "" {
		if !propagations[am.BindOptions.Propagation] {
			return bad("invalid propagation mode: " + am.BindOptions.Propagation)
		}
		m.Propagation = am.BindOptions.Propagation
	}
	if am.TmpfsOptions != nil {
		m.TmpfsSize, m.TmpfsMode = am.TmpfsOptions.SizeBytes, am.TmpfsOptions.Mode
	}
	return m, checkMount(m, bad)
}

// ParseTmpfs parses docker's --tmpfs /path[:size=64m,mode=1777,...]; the options
// rw, nosuid and nodev are accepted (tmpfs mounts have them), exec and noexec and
// any other option are refused.
func ParseTmpfs(spec string) (skiff.Mount, error) {
	target, opts, _ := strings.Cut(spec, ":")
	m := skiff.Mount{Type: skiff.MountTmpfs, Target: target}
	if !path.IsAbs(target) {
		return m, fmt.Errorf("invalid tmpfs %q: the container path must be absolute", spec)
	}
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
		case "rw", "nosuid", "nodev":
		case "exec", "noexec":
			return m, fmt.Errorf("invalid tmpfs %q: exec and noexec are not supported", spec)
		default:
			return m, fmt.Errorf("invalid tmpfs %q: unsupported option %q", spec, o)
		}
	}
	return m, nil
}

// TmpfsMounts converts HostConfig.Tmpfs (target → options), in target order.
func TmpfsMounts(tmpfs map[string]string) ([]skiff.Mount, error) {
	targets := make([]string, 0, len(tmpfs))
	for t := range tmpfs {
		targets = append(targets, t)
	}
	slices.Sort(targets)
	var out []skiff.Mount
	for _, t := range targets {
		spec := t
		if tmpfs[t] != "" {
			spec += ":" + tmpfs[t]
		}
		m, err := ParseTmpfs(spec)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}
