package dockerfile

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Mount is one RUN --mount.
type Mount struct {
	Type     string // bind (default), cache, tmpfs, secret or ssh
	From     string // stage or image for bind and cache
	Source   string
	Target   string
	ReadOnly bool
	// SizeLimit is the tmpfs size in bytes (0: none).
	SizeLimit int64
	CacheID   string // id= of cache, secret and ssh mounts
	Sharing   string // shared, private or locked (cache only)
	Required  bool   // secret and ssh only
	Env       *string
	Mode      *uint64
	UID, GID  *uint64
}

// Device is one RUN --device.
type Device struct {
	Name     string
	Required bool
}

// csvFields splits one CSV record: fields separated by commas, optionally
// double-quoted with "" for a quote inside.
func csvFields(s string) ([]string, error) {
	s = strings.TrimSuffix(strings.TrimSuffix(s, "\n"), "\r")
	if s == "" {
		return nil, errors.New("empty value")
	}
	var out []string
	for {
		if s == "" || s[0] != '"' {
			f, rest, more := strings.Cut(s, ",")
			if strings.Contains(f, `"`) {
				return nil, fmt.Errorf("bare \" in non-quoted field %q", f)
			}
			out = append(out, f)
			if !more {
				return out, nil
			}
			s = rest
			continue
		}
		s = s[1:]
		var b strings.Builder
		for {
			i := strings.IndexByte(s, '"')
			if i < 0 {
				return nil, errors.New("extraneous or missing \" in quoted field")
			}
			b.WriteString(s[:i])
			s = s[i+1:]
			if strings.HasPrefix(s, `"`) {
				b.WriteByte('"')
				s = s[1:]
				continue
			}
			break
		}
		out = append(out, b.String())
		switch {
		case s == "":
			return out, nil
		case s[0] == ',':
			s = s[1:]
		default:
			return nil, errors.New("extraneous or missing \" in quoted field")
		}
	}
}

// checkMountSpec is the check BuildKit makes before expansion: the value is
// CSV and from= holds no variable.
func checkMountSpec(spec string) error {
	fields, err := csvFields(spec)
	if err != nil {
		return errorf(ErrInvalidFlag, "failed to parse csv mounts: %v", err)
	}
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if ok && strings.ToLower(k) == "from" {
			if i := strings.IndexByte(v, '$'); i != -1 && i != len(v)-1 {
				return errorf(ErrInvalidFlag, "'from' doesn't support variable expansion, define alias stage instead")
			}
		}
	}
	return nil
}

var mountKeys = []string{"type", "from", "source", "target", "readonly", "id", "sharing", "required", "size", "mode", "uid", "gid", "src", "dst", "destination", "ro", "rw", "readwrite", "env"}

func withSuggestion(msg, val string, options []string) error {
	if s := suggest(val, options, true); s != "" {
		msg += " (did you mean " + s + "?)"
	}
	return errorf(ErrInvalidFlag, "%s", msg)
}

// parseMount parses a --mount value, expanding each value with expand.
func parseMount(spec string, expand WordFunc) (*Mount, error) {
	fields, err := csvFields(spec)
	if err != nil {
		return nil, errorf(ErrInvalidFlag, "failed to parse csv mounts: %v", err)
	}
	m := &Mount{Type: "bind"}
	roAuto := true
	for _, field := range fields {
		key, value, ok := strings.Cut(field, "=")
		key = strings.ToLower(key)
		if !ok {
			switch key {
			case "readonly", "ro":
				m.ReadOnly, roAuto = true, false
			case "readwrite", "rw":
				m.ReadOnly, roAuto = false, false
			case "required":
				if m.Type != "secret" && m.Type != "ssh" {
					return nil, errorf(ErrInvalidFlag, "unexpected key '%s' for mount type '%s'", key, m.Type)
				}
				m.Required = true
			default:
				return nil, errorf(ErrInvalidFlag, "invalid field '%s' must be a key=value pair", field)
			}
			continue
		}
		if expand != nil {
			if value, err = expand(value); err != nil {
				return nil, err
			}
		}
		bad := func() error { return errorf(ErrInvalidFlag, "invalid value for %s: %s", key, value) }
		switch key {
		case "type":
			t := strings.ToLower(value)
			switch t {
			case "bind", "cache", "tmpfs", "secret", "ssh":
			default:
				return nil, withSuggestion(fmt.Sprintf("unsupported mount type %q", value), value, []string{"bind", "cache", "tmpfs", "secret", "ssh"})
			}
			m.Type = t
		case "from":
			m.From = value
		case "source", "src":
			m.Source = value
		case "target", "dst", "destination":
			m.Target = value
		case "readonly", "ro", "readwrite", "rw":
			b, err := strconv.ParseBool(value)
			if err != nil {
				return nil, bad()
			}
			if key == "readwrite" || key == "rw" {
				b = !b
			}
			m.ReadOnly, roAuto = b, false
		case "required":
			if m.Type != "secret" && m.Type != "ssh" {
				return nil, errorf(ErrInvalidFlag, "unexpected key '%s' for mount type '%s'", key, m.Type)
			}
			if m.Required, err = strconv.ParseBool(value); err != nil {
				return nil, bad()
			}
		case "size":
			if m.Type != "tmpfs" {
				return nil, errorf(ErrInvalidFlag, "unexpected key '%s' for mount type '%s'", key, m.Type)
			}
			if m.SizeLimit, err = parseSize(value); err != nil {
				return nil, bad()
			}
		case "id":
			m.CacheID = value
		case "sharing":
			s := strings.ToLower(value)
			switch s {
			case "shared", "private", "locked":
			default:
				return nil, withSuggestion(fmt.Sprintf("unsupported sharing value %q", value), value, []string{"shared", "private", "locked"})
			}
			m.Sharing = s
		case "mode", "uid", "gid":
			base := 10
			if key == "mode" {
				base = 8
			}
			n, err := strconv.ParseUint(value, base, 32)
			if err != nil {
				return nil, errorf(ErrInvalidFlag, "invalid value %s for %s", value, key)
			}
			switch key {
			case "mode":
				m.Mode = &n
			case "uid":
				m.UID = &n
			default:
				m.GID = &n
			}
		case "env":
			v := value
			m.Env = &v
		default:
			return nil, withSuggestion(fmt.Sprintf("unexpected key '%s' in '%s'", key, field), key, mountKeys)
		}
	}
	if m.Type != "secret" && m.Type != "ssh" && m.Type != "cache" {
		for name, v := range map[string]*uint64{"mode": m.Mode, "uid": m.UID, "gid": m.GID} {
			if v != nil {
				return nil, errorf(ErrInvalidFlag, "%s not allowed for %q type mounts", name, m.Type)
			}
		}
	}
	if roAuto {
		m.ReadOnly = m.Type != "cache" && m.Type != "tmpfs"
	}
	if m.Type == "secret" {
		switch {
		case m.From != "":
			return nil, errorf(ErrInvalidFlag, "secret mount should not have a from")
		case m.Sharing != "":
			return nil, errorf(ErrInvalidFlag, "secret mount should not define sharing")
		case m.Source == "" && m.Target == "" && m.CacheID == "":
			return nil, errorf(ErrInvalidFlag, "invalid secret mount. one of source, target required")
		case m.Source != "" && m.CacheID != "":
			return nil, errorf(ErrInvalidFlag, "both source and id can't be set")
		}
	}
	if m.Sharing != "" && m.Type != "cache" {
		return nil, errorf(ErrInvalidFlag, "invalid cache sharing set for %v mount", m.Type)
	}
	return m, nil
}

// parseSize parses a size such as "64m", "1.5GiB" or "1024" (bytes, binary
// multiples).
func parseSize(s string) (int64, error) {
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, unit := s[:i], strings.ToLower(strings.TrimPrefix(s[i:], " "))
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || num == "" {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	unit = strings.TrimSuffix(strings.TrimSuffix(unit, "b"), "i")
	mult := map[string]float64{"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return int64(f * mult), nil
}

// parseDevice parses a --device value: name[,required[=bool]].
func parseDevice(spec string) (*Device, error) {
	fields, err := csvFields(spec)
	if err != nil {
		return nil, errorf(ErrInvalidFlag, "failed to parse csv devices: %v", err)
	}
	d := &Device{}
	for _, field := range fields {
		key, value, ok := strings.Cut(field, "=")
		key = strings.ToLower(key)
		if !ok {
			if key == "required" {
				d.Required = true
				continue
			}
			if d.Name == "" {
				d.Name = field
				continue
			}
			return nil, errorf(ErrInvalidFlag, "invalid field '%s' must be a key=value pair", field)
		}
		switch key {
		case "name":
			if d.Name != "" {
				return nil, errorf(ErrInvalidFlag, "device name already set to %s", d.Name)
			}
			d.Name = value
		case "required":
			if d.Required, err = strconv.ParseBool(value); err != nil {
				return nil, errorf(ErrInvalidFlag, "invalid value for %s: %s", key, value)
			}
		default:
			if d.Name == "" {
				d.Name = field
				continue
			}
			return nil, withSuggestion(fmt.Sprintf("unexpected key '%s' in '%s'", key, field), key, []string{"name", "required"})
		}
	}
	return d, nil
}
