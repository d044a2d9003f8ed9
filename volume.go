package skiff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/skiffrt/skiff/errdefs"
	"github.com/skiffrt/skiff/internal/atomicfile"
	"github.com/skiffrt/skiff/internal/lockfile"
)

// Named volumes live under Root()/volumes:
//
//	volumes/.lock              flock taken while a volume is created or removed
//	volumes/<name>/volume.json metadata (Volume), written before the rename below
//	volumes/<name>/_data       the content, bind-mounted into containers
//
// A volume is built as volumes/.tmp-<random> and renamed into place, so a volume
// directory exists complete or not at all. Which containers use a volume is read from
// their config.json (a bind mount whose source is the volume's _data), so there is no
// reference count to get out of step: a container's mounts are written under the root
// lock in Create, and RemoveVolume and PruneVolumes take the same lock.

// Sentinel errors of the volume API. Test for them with errors.Is.
var (
	// ErrVolumeNotFound: no volume by that name.
	ErrVolumeNotFound = errdefs.New(errdefs.ErrNotFound, "no such volume")
	// ErrVolumeInUse: a container (running or not) mounts the volume.
	ErrVolumeInUse = errdefs.New(errdefs.ErrConflict, "volume is in use")
	// ErrVolumeExists: CreateVolume of a name that exists with other labels.
	ErrVolumeExists = errdefs.New(errdefs.ErrConflict, "volume already exists")
)

// Volume is a named volume: a directory of the engine root that containers mount and
// that outlives them (docker volume). Its JSON form is docker volume inspect's.
type Volume struct {
	// Name is the volume's name; an anonymous volume has a random 64-hex-digit one.
	Name string `json:"Name"`
	// Mountpoint is the host directory holding the content (Root()/volumes/<name>/_data).
	Mountpoint string `json:"Mountpoint"`
	// CreatedAt is when the volume was created.
	CreatedAt time.Time `json:"CreatedAt"`
	// Labels are free-form metadata given to CreateVolume.
	Labels map[string]string `json:"Labels"`
	// Anonymous is true for a volume created for a mount without a name (docker run
	// -v /path); such volumes are what PruneVolumes removes by default.
	Anonymous bool `json:"Anonymous,omitempty"`
	// Driver and Scope are always "local", as docker reports them.
	Driver string `json:"Driver"`
	Scope  string `json:"Scope"`
}

const volumeMeta = "volume.json"

// volumeStore owns <root>/volumes: one dir per volume holding volume.json and _data,
// created as .tmp- dirs and renamed into place, removed by a rename to .rm- first.
type volumeStore struct {
	dir      string         // <root>/volumes
	rootLock string         // the engine root's lock: no container is created meanwhile
	ctrs     containerStore // to find the containers that mount a volume
	log      *slog.Logger
}

func (vs *volumeStore) lockVolumes() (func(), error) {
	if err := os.MkdirAll(vs.dir, 0o700); err != nil {
		return nil, fmt.Errorf("volumes: %w", err)
	}
	l, err := lockfile.Acquire(nil, filepath.Join(vs.dir, ".lock"), lockfile.Exclusive)
	if err != nil {
		return nil, fmt.Errorf("volumes: %w", err)
	}
	return l.Unlock, nil
}

func checkVolumeName(name string) error {
	if len(name) < 2 || !validName.MatchString(name) {
		return fmt.Errorf("%w: volume name %q: want [a-zA-Z0-9][a-zA-Z0-9_.-]+", ErrInvalidConfig, name)
	}
	return nil
}

// CreateVolume creates the named volume (docker volume create). Creating a volume that
// exists returns it unchanged when labels are nil or equal, and ErrVolumeExists
// otherwise.
func (e *Engine) CreateVolume(ctx context.Context, name string, labels map[string]string) (*Volume, error) {
	if err := checkVolumeName(name); err != nil {
		return nil, err
	}
	unlock, err := e.vols.lockVolumes()
	if err != nil {
		return nil, err
	}
	defer unlock()
	v, created, err := e.vols.ensureVolume(name, labels, false)
	if created {
		e.emit(EventVolume, "create", name, map[string]string{"driver": "local"})
	}
	return v, err
}

// ensureVolume returns the volume, creating it when missing (volumes lock held). It
// reports whether it created it.
func (vs *volumeStore) ensureVolume(name string, labels map[string]string, anonymous bool) (*Volume, bool, error) {
	if v, err := vs.readVolume(name); err == nil {
		if labels != nil && !mapsEqual(labels, v.Labels) {
			return nil, false, fmt.Errorf("%w: %s (with other labels)", ErrVolumeExists, name)
		}
		return v, false, nil
	} else if !errors.Is(err, ErrVolumeNotFound) {
		return nil, false, err
	}
	tmp, err := os.MkdirTemp(vs.dir, ".tmp-")
	if err != nil {
		return nil, false, fmt.Errorf("create volume %s: %w", name, err)
	}
	defer os.RemoveAll(tmp) // a no-op after the rename
	if err := os.Mkdir(filepath.Join(tmp, "_data"), 0o755); err != nil {
		return nil, false, fmt.Errorf("create volume %s: %w", name, err)
	}
	if err := os.Chmod(tmp, 0o701); err != nil {
		return nil, false, fmt.Errorf("create volume %s: %w", name, err)
	}
	final := filepath.Join(vs.dir, name)
	v := &Volume{Name: name, Mountpoint: filepath.Join(final, "_data"), CreatedAt: time.Now().UTC().Truncate(time.Second),
		Labels: labels, Anonymous: anonymous, Driver: "local", Scope: "local"}
	if v.Labels == nil {
		v.Labels = map[string]string{}
	}
	if err := atomicfile.WriteJSON(filepath.Join(tmp, volumeMeta), v, atomicfile.Options{Perm: 0o600}); err != nil {
		return nil, false, fmt.Errorf("create volume %s: %w", name, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return nil, false, fmt.Errorf("create volume %s: %w", name, err)
	}
	vs.log.Debug("volume created", "name", name, "anonymous", anonymous)
	return v, true, nil
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func (vs *volumeStore) readVolume(name string) (*Volume, error) {
	if checkVolumeName(name) != nil {
		return nil, fmt.Errorf("%w: %s", ErrVolumeNotFound, name)
	}
	dir := filepath.Join(vs.dir, name)
	data, err := os.ReadFile(filepath.Join(dir, volumeMeta))
	if os.IsNotExist(err) {
		return nil, fmt.Errorf("%w: %s", ErrVolumeNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("volume %s: %w", name, err)
	}
	var v Volume
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("volume %s: %s: %w", name, volumeMeta, err)
	}
	v.Name, v.Mountpoint = name, filepath.Join(dir, "_data") // follow a moved root
	return &v, nil
}

// Volume returns the named volume, or an error wrapping ErrVolumeNotFound.
func (e *Engine) Volume(ctx context.Context, name string) (*Volume, error) {
	return e.vols.readVolume(name)
}

// Volumes lists the engine's volumes by name.
func (e *Engine) Volumes(ctx context.Context) ([]*Volume, error) {
	ents, err := os.ReadDir(e.vols.dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	var out []*Volume
	for _, ent := range ents {
		if strings.HasPrefix(ent.Name(), ".") || !ent.IsDir() {
			continue
		}
		if v, err := e.vols.readVolume(ent.Name()); err == nil {
			out = append(out, v)
		}
	}
	return out, nil
}

// volumeUsers maps each volume name to the IDs of the containers that mount it.
func (vs *volumeStore) volumeUsers() (map[string][]string, error) {
	ents, err := os.ReadDir(vs.ctrs.dir)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	users := map[string][]string{}
	for _, ent := range ents {
		id := ent.Name()
		if strings.HasPrefix(id, ".") {
			continue
		}
		for _, name := range vs.containerVolumes(id) {
			users[name] = append(users[name], id)
		}
	}
	return users, nil
}

// containerVolumes returns the names of the volumes the container mounts, read from
// its config.json.
func (vs *volumeStore) containerVolumes(id string) []string {
	mounts, err := vs.ctrs.loadMounts(id)
	if err != nil {
		return nil
	}
	prefix := vs.dir + string(filepath.Separator)
	var names []string
	for _, m := range mounts {
		rest, ok := strings.CutPrefix(m.Source, prefix)
		if !ok || m.Type != "bind" {
			continue
		}
		if name, ok := strings.CutSuffix(rest, string(filepath.Separator)+"_data"); ok && !strings.Contains(name, "/") {
			if !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	return names
}

// Volumes returns the names of the named and anonymous volumes the container mounts.
// After Delete they still exist; `docker rm -v` removes the anonymous ones with
// Engine.RemoveVolume.
func (c *Container) Volumes() []string { return c.e.vols.containerVolumes(c.id) }

// VolumeUsers returns the IDs of the containers (in any state) that mount the volume.
func (e *Engine) VolumeUsers(ctx context.Context, name string) ([]string, error) {
	users, err := e.vols.volumeUsers()
	if err != nil {
		return nil, err
	}
	return users[name], nil
}

// RemoveVolume deletes the volume and its content (docker volume rm). A volume that a
// container mounts, running or not, is refused with ErrVolumeInUse unless
// opts.Force is set.
func (e *Engine) RemoveVolume(ctx context.Context, name string, opts RemoveVolumeOptions) error {
	return e.vols.remove(name, opts.Force)
}

// RemoveVolumeOptions tune RemoveVolume.
type RemoveVolumeOptions struct {
	// Force removes a volume that containers mount (docker volume rm -f).
	Force bool
}

// remove deletes a volume; one a container mounts is refused unless force.
func (vs *volumeStore) remove(name string, force bool) error {
	root, err := lockfile.Acquire(nil, vs.rootLock, lockfile.Exclusive) // no container is being created meanwhile
	if err != nil {
		return err
	}
	defer root.Unlock()
	unlock, err := vs.lockVolumes()
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := vs.readVolume(name); err != nil {
		return err
	}
	if !force {
		users, err := vs.volumeUsers()
		if err != nil {
			return err
		}
		if ids := users[name]; len(ids) > 0 {
			short := make([]string, len(ids))
			for i, id := range ids {
				short[i] = shortID(id)
			}
			return fmt.Errorf("remove volume %s: %w by container(s) %s", name, ErrVolumeInUse, strings.Join(short, ", "))
		}
	}
	if err := vs.removeVolumeDir(name); err != nil {
		return err
	}
	recordEvent(filepath.Dir(vs.dir), EventVolume, "destroy", name, map[string]string{"driver": "local"})
	return nil
}

// removeAnonymous removes those of names that are anonymous volumes no container
// mounts any more (docker rm -v, run --rm).
func (vs *volumeStore) removeAnonymous(names []string) error {
	for _, n := range names {
		if v, err := vs.readVolume(n); err == nil && v.Anonymous {
			if err := vs.remove(n, false); err != nil && !errors.Is(err, ErrVolumeInUse) {
				return err
			}
		}
	}
	return nil
}

// removeVolumeDir renames the volume away (so it vanishes at once) and deletes it.
func (vs *volumeStore) removeVolumeDir(name string) error {
	gone, err := os.MkdirTemp(vs.dir, ".rm-")
	if err != nil {
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	defer os.RemoveAll(gone)
	if err := os.Rename(filepath.Join(vs.dir, name), filepath.Join(gone, name)); err != nil {
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	vs.log.Debug("volume removed", "name", name)
	return nil
}

// VolumePrune selects what PruneVolumes removes.
type VolumePrune struct {
	// All removes every unused volume; by default only unused anonymous volumes go
	// (docker volume prune [-a], Docker ≥ 23).
	All bool
}

// PruneVolumes removes the volumes no container mounts and returns their names.
func (e *Engine) PruneVolumes(ctx context.Context, p VolumePrune) ([]string, error) {
	unlockRoot, err := e.lockRoot()
	if err != nil {
		return nil, err
	}
	defer unlockRoot()
	unlock, err := e.vols.lockVolumes()
	if err != nil {
		return nil, err
	}
	defer unlock()
	vols, err := e.Volumes(ctx)
	if err != nil {
		return nil, err
	}
	users, err := e.vols.volumeUsers()
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, v := range vols {
		if len(users[v.Name]) > 0 || (!p.All && !v.Anonymous) {
			continue
		}
		if err := e.vols.removeVolumeDir(v.Name); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, v.Name)
	}
	sort.Strings(removed)
	return removed, errors.Join(errs...)
}

// resolveVolume returns the host directory of the volume m names, creating a volume
// used the first time (an anonymous one when m.Source is empty). An empty volume is
// seeded, as Docker does, with the image's content at m.Target: rootfs is the
// container's mounted root filesystem, and the path is resolved inside it. Create
// calls it with the root lock held.
func (e *Engine) resolveVolume(ctx context.Context, id string, m Mount, rootfs string) (string, error) {
	name, anonymous := m.Source, m.Source == ""
	if anonymous {
		name = newID()
	} else if err := checkVolumeName(name); err != nil {
		return "", err
	}
	unlock, err := e.vols.lockVolumes()
	if err != nil {
		return "", err
	}
	defer unlock()
	v, _, err := e.vols.ensureVolume(name, nil, anonymous)
	if err != nil {
		return "", err
	}
	empty, err := isEmptyDir(v.Mountpoint)
	if err != nil {
		return "", fmt.Errorf("volume %s: %w", name, err)
	}
	if empty {
		src, err := securejoin.SecureJoin(rootfs, m.Target)
		if err != nil {
			return "", fmt.Errorf("volume %s: resolve %s in the root filesystem: %w", name, m.Target, err)
		}
		if fi, err := os.Lstat(src); err == nil && fi.IsDir() {
			if err := copyTree(ctx, src, v.Mountpoint); err != nil {
				return "", fmt.Errorf("volume %s: seed from the image's %s: %w", name, m.Target, err)
			}
		}
	}
	return v.Mountpoint, nil
}

func isEmptyDir(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	if err == io.EOF {
		return true, nil
	}
	return false, err
}

// copyTree copies the content of the directory src into the existing directory dst,
// which takes src's mode, owner and xattrs: regular files, directories, symlinks (not
// followed), hard links (kept as links), device nodes, fifos and sockets, with
// modes, owners, times and xattrs. src must be trusted not to change meanwhile (a
// container's root filesystem before its process runs).
func copyTree(ctx context.Context, src, dst string) error {
	links := map[uint64]string{} // inode of a multiply linked file → its copy
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return &os.PathError{Op: "lstat", Path: p, Err: err}
		}
		if rel != "." && st.Nlink > 1 && st.Mode&unix.S_IFMT != unix.S_IFDIR {
			if first, ok := links[st.Ino]; ok {
				return os.Link(first, target)
			}
			links[st.Ino] = target
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			if rel != "." {
				if err := os.Mkdir(target, 0o700); err != nil {
					return err
				}
			}
		case unix.S_IFREG:
			if err := copyFile(p, target); err != nil {
				return err
			}
		case unix.S_IFLNK:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := os.Symlink(link, target); err != nil {
				return err
			}
		case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO, unix.S_IFSOCK:
			if err := unix.Mknod(target, st.Mode, int(st.Rdev)); err != nil {
				return &os.PathError{Op: "mknod", Path: target, Err: err}
			}
		default:
			return fmt.Errorf("%s: unknown file type %o", p, st.Mode&unix.S_IFMT)
		}
		return copyMeta(p, target, &st)
	})
	if err != nil {
		return err
	}
	// Directory times last: creating entries changed them.
	return filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return nil
		}
		ts := []unix.Timespec{st.Atim, st.Mtim}
		return unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Join(dst, rel), ts, unix.AT_SYMLINK_NOFOLLOW)
	})
}

func copyFile(src, dst string) error {
	in, err := os.OpenFile(src, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil { // copy_file_range where it can
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}

// copyMeta gives dst (not following a symlink) src's owner, mode, xattrs and, for
// non-directories, times.
func copyMeta(src, dst string, st *unix.Stat_t) error {
	if err := unix.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
		return &os.PathError{Op: "lchown", Path: dst, Err: err}
	}
	if err := copyXattrs(src, dst); err != nil {
		return err
	}
	isLink := st.Mode&unix.S_IFMT == unix.S_IFLNK
	if !isLink {
		// After chown, which clears setuid/setgid bits.
		if err := unix.Chmod(dst, st.Mode&0o7777); err != nil {
			return &os.PathError{Op: "chmod", Path: dst, Err: err}
		}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		ts := []unix.Timespec{st.Atim, st.Mtim}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, dst, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &os.PathError{Op: "utimes", Path: dst, Err: err}
		}
	}
	return nil
}

// copyXattrs copies the extended attributes of src to dst (neither followed), except
// overlayfs's own. Attributes the destination filesystem refuses are skipped.
func copyXattrs(src, dst string) error {
	size, err := unix.Llistxattr(src, nil)
	if err != nil || size == 0 {
		return nil // no xattr support on the source: nothing to copy
	}
	buf := make([]byte, size)
	size, err = unix.Llistxattr(src, buf)
	if err != nil {
		return nil
	}
	for _, name := range strings.Split(strings.TrimRight(string(buf[:size]), "\x00"), "\x00") {
		if name == "" || strings.HasPrefix(name, "trusted.overlay.") {
			continue
		}
		n, err := unix.Lgetxattr(src, name, nil)
		if err != nil {
			continue
		}
		val := make([]byte, n)
		if n, err = unix.Lgetxattr(src, name, val); err != nil {
			continue
		}
		if err := unix.Lsetxattr(dst, name, val[:n], 0); err != nil {
			if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EPERM) {
				continue
			}
			return &os.PathError{Op: "setxattr " + name, Path: dst, Err: err}
		}
	}
	return nil
}

// dropAnonymousVolumes removes the anonymous volumes among a failed Create's mounts
// (the root lock is held: no other container can be using them yet).
func (vs *volumeStore) dropAnonymousVolumes(mounts []specs.Mount) {
	unlock, err := vs.lockVolumes()
	if err != nil {
		return
	}
	defer unlock()
	for _, m := range mounts {
		rel, err := filepath.Rel(vs.dir, m.Source)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		name, _, _ := strings.Cut(rel, string(filepath.Separator))
		if v, err := vs.readVolume(name); err == nil && v.Anonymous {
			vs.removeVolumeDir(name)
		}
	}
}
