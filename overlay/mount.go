package overlay

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/sys/mountinfo"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// Mount describes one mount(2) call, applied later with Mount.Mount. It is a
// plain value: callers can log it, put it in an OCI spec, or apply it in
// another mount namespace.
type Mount struct {
	// Type is the file system type, e.g. "overlay".
	Type string
	// Source is the mount source, e.g. "overlay".
	Source string
	// Options are mount options as for mount(8) -o: flags such as "ro" and
	// data such as "lowerdir=…".
	Options []string
}

// MountError is returned by Mount.Mount and Unmount: it names the operation,
// the source, the target and the options.
type MountError struct {
	Op      string // "mount", "fsconfig lowerdir+", "unmount", ...
	Source  string
	Target  string
	Options []string
	Err     error
}

func (e *MountError) Error() string {
	return fmt.Sprintf("%s %s on %s (options %q): %v", e.Op, e.Source, e.Target, strings.Join(e.Options, ","), e.Err)
}

func (e *MountError) Unwrap() error { return e.Err }

// flagOptions are the options that are mount flags rather than file system
// data.
var flagOptions = map[string]struct {
	set   bool
	flags uintptr
}{
	"ro":         {true, unix.MS_RDONLY},
	"rw":         {false, unix.MS_RDONLY},
	"nosuid":     {true, unix.MS_NOSUID},
	"suid":       {false, unix.MS_NOSUID},
	"nodev":      {true, unix.MS_NODEV},
	"dev":        {false, unix.MS_NODEV},
	"noexec":     {true, unix.MS_NOEXEC},
	"exec":       {false, unix.MS_NOEXEC},
	"noatime":    {true, unix.MS_NOATIME},
	"relatime":   {true, unix.MS_RELATIME},
	"nodiratime": {true, unix.MS_NODIRATIME},
	"sync":       {true, unix.MS_SYNCHRONOUS},
}

// parseOptions splits options into mount flags and the data string.
func parseOptions(opts []string) (flags uintptr, data []string) {
	for _, o := range opts {
		if f, ok := flagOptions[o]; ok {
			if f.set {
				flags |= f.flags
			} else {
				flags &^= f.flags
			}
			continue
		}
		data = append(data, o)
	}
	return flags, data
}

// Mount mounts m on target, an existing directory (mount(2); the equivalent of
// `mount -t TYPE -o OPTIONS SOURCE TARGET`). When an overlay's data does not
// fit the kernel's one-page limit, it uses fsopen/fsconfig and passes each
// lower dir with "lowerdir+" (Linux ≥ 6.8).
func (m Mount) Mount(target string) error {
	flags, data := parseOptions(m.Options)
	joined := strings.Join(data, ",")
	if len(joined) < os.Getpagesize() || m.Type != "overlay" {
		err := unix.Mount(m.Source, target, m.Type, flags, joined)
		if err != nil {
			return &MountError{Op: "mount", Source: m.Source, Target: target, Options: m.Options, Err: err}
		}
		return nil
	}
	return m.mountFsconfig(target, flags, data)
}

// mountFsconfig mounts with the new mount API, one fsconfig call per option and
// per lower dir.
func (m Mount) mountFsconfig(target string, flags uintptr, data []string) error {
	fail := func(op string, err error) error {
		return &MountError{Op: op, Source: m.Source, Target: target, Options: m.Options, Err: err}
	}
	fsfd, err := unix.Fsopen(m.Type, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fail("fsopen", err)
	}
	defer unix.Close(fsfd)
	if err := unix.FsconfigSetString(fsfd, "source", m.Source); err != nil {
		return fail("fsconfig source", err)
	}
	for _, o := range data {
		k, v, hasValue := strings.Cut(o, "=")
		switch {
		case k == "lowerdir":
			for _, l := range splitLowerdirs(v) {
				if err := unix.FsconfigSetString(fsfd, "lowerdir+", l); err != nil {
					return fail("fsconfig lowerdir+ "+l, err)
				}
			}
		case hasValue:
			if err := unix.FsconfigSetString(fsfd, k, v); err != nil {
				return fail("fsconfig "+k, err)
			}
		default:
			if err := unix.FsconfigSetFlag(fsfd, k); err != nil {
				return fail("fsconfig "+k, err)
			}
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return fail("fsconfig create", err)
	}
	var attrs int
	if flags&unix.MS_RDONLY != 0 {
		attrs |= unix.MOUNT_ATTR_RDONLY
	}
	if flags&unix.MS_NOSUID != 0 {
		attrs |= unix.MOUNT_ATTR_NOSUID
	}
	if flags&unix.MS_NODEV != 0 {
		attrs |= unix.MOUNT_ATTR_NODEV
	}
	if flags&unix.MS_NOEXEC != 0 {
		attrs |= unix.MOUNT_ATTR_NOEXEC
	}
	if flags&unix.MS_NOATIME != 0 {
		attrs |= unix.MOUNT_ATTR_NOATIME
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, attrs)
	if err != nil {
		return fail("fsmount", err)
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fail("move_mount", err)
	}
	return nil
}

// splitLowerdirs splits a lowerdir value on unescaped colons.
func splitLowerdirs(v string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(v); i++ {
		switch {
		case v[i] == '\\' && i+1 < len(v):
			i++
			cur.WriteByte(v[i])
		case v[i] == ':':
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(v[i])
		}
	}
	return append(out, cur.String())
}

// escapeOption escapes the characters the overlay option parser treats
// specially in a path.
func escapeOption(p string) string {
	r := strings.NewReplacer(`\`, `\\`, `:`, `\:`, `,`, `\,`)
	return r.Replace(p)
}

// Unmount detaches the mount at target (umount2 MNT_DETACH). A target that is
// not a mount point, or does not exist, is not an error.
func Unmount(target string) error {
	mounted, err := mountinfo.Mounted(target)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return &MountError{Op: "unmount", Target: target, Err: err}
	}
	if !mounted {
		return nil
	}
	for {
		err = unix.Unmount(target, unix.MNT_DETACH)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil && err != unix.EINVAL {
		return &MountError{Op: "unmount", Target: target, Err: err}
	}
	return nil
}

// Prepare creates dir/upper and dir/work (dir itself too if needed) and
// returns the overlay Mount of the given layers (chainIDs bottom → top) with
// that upper and work dir. Zero layers give an empty read-only lower. Each
// layer must be unpacked (ErrLayerNotFound otherwise). Lower dirs are named by
// their short links under <root>/layers/l so dozens fit the mount data page.
//
// Apply it with m.Mount(dir + "/merged") or any other target.
func (s *Store) Prepare(ctx context.Context, dir string, layers []digest.Digest) (Mount, error) {
	if err := ctx.Err(); err != nil {
		return Mount{}, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Mount{}, fmt.Errorf("prepare %s: %w", dir, err)
	}
	lowers := make([]string, 0, max(len(layers), 1))
	for _, l := range slices.Backward(layers) { // overlay lists the top first
		hex, err := checkChainID(l)
		if err != nil {
			return Mount{}, fmt.Errorf("prepare %s: %w", dir, err)
		}
		if !s.Has(l) {
			return Mount{}, fmt.Errorf("prepare %s: layer %s: %w", dir, l, ErrLayerNotFound)
		}
		short, err := s.shortLink(hex)
		if err != nil {
			return Mount{}, fmt.Errorf("prepare %s: layer %s: %w", dir, l, err)
		}
		lowers = append(lowers, escapeOption(short))
	}
	if len(lowers) == 0 {
		lowers = append(lowers, escapeOption(filepath.Join(s.root, emptyDir)))
	}
	upper, work := filepath.Join(abs, "upper"), filepath.Join(abs, "work")
	if err := os.MkdirAll(abs, 0o711); err != nil {
		return Mount{}, fmt.Errorf("prepare %s: %w", dir, err)
	}
	for _, d := range []string{upper, work} {
		if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return Mount{}, fmt.Errorf("prepare %s: %w", dir, err)
		}
	}
	// Diff reads the upper dir alone: no redirects, no metacopy. With userxattr
	// the kernel forces redirect_dir=nofollow (none made) and refuses "off".
	opts := []string{"index=off", "redirect_dir=off"}
	if s.userXattr {
		opts = []string{"index=off", "userxattr"}
	}
	opts = append(opts,
		"lowerdir="+strings.Join(lowers, ":"),
		"upperdir="+escapeOption(upper),
		"workdir="+escapeOption(work),
	)
	return Mount{Type: "overlay", Source: "overlay", Options: opts}, nil
}

// shortLink returns the short link of layer hex, checking that it points to
// that layer (and recreating it if it was lost).
func (s *Store) shortLink(hex string) (string, error) {
	short := filepath.Join(s.root, linksDir, shortName(hex))
	want := filepath.Join("..", hex, diffDir)
	got, err := os.Readlink(short)
	if errors.Is(err, os.ErrNotExist) {
		err = os.Symlink(want, short)
		if errors.Is(err, os.ErrExist) {
			got, err = os.Readlink(short)
		} else if err == nil {
			got = want
		}
	}
	if err != nil {
		return "", fmt.Errorf("short link %s: %w", short, err)
	}
	if got != want {
		return "", fmt.Errorf("short link %s points to %q, not to this layer", short, got)
	}
	return short, nil
}
