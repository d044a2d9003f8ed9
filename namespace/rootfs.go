package namespace

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	securejoin "github.com/cyphar/filepath-securejoin"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// setupRootfs builds the container's filesystem view in init's mount namespace (new
// or joined) and pivots into it. Without a mount namespace of its own (ownNS false:
// init was cloned without CLONE_NEWNS) it builds it in the creator's, below a private
// bind mount of the rootfs (see UnmountRootfs), and chroots into it, as runc does.
func setupRootfs(s *specs.Spec, ownNS bool) error {
	prop := uintptr(unix.MS_REC | unix.MS_PRIVATE)
	if s.Linux != nil && s.Linux.RootfsPropagation != "" {
		f, ok := propFlags[s.Linux.RootfsPropagation]
		if !ok {
			return inField("linux.rootfsPropagation", fmt.Errorf("unknown propagation %q", s.Linux.RootfsPropagation))
		}
		prop = f
	}
	// Nothing mounted below may propagate back to the host.
	if ownNS {
		if err := mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			return inField("linux.rootfsPropagation", err)
		}
	}
	rootfs, err := filepath.EvalSymlinks(s.Root.Path)
	if err != nil {
		return inField("root.path", err)
	}
	// pivot_root needs the new root to be a mount point.
	if err := mount(rootfs, rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return inField("root.path", err)
	}
	if !ownNS {
		// In the creator's namespace: the container's mounts stay below this bind
		// and reach no peer of the host's mounts.
		if err := mount("", rootfs, "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			return inField("root.path", err)
		}
	}
	devTmpfs := false
	for i, m := range s.Mounts {
		if err := mountOne(rootfs, m); err != nil {
			return inField(fmt.Sprintf("mounts[%d] (%s)", i, m.Destination), err)
		}
		if filepath.Clean(m.Destination) == "/dev" && !isBind(m) {
			devTmpfs = true
		}
	}
	if devTmpfs {
		if err := setupDev(rootfs, s); err != nil {
			return err
		}
	}
	enter := pivotRoot
	if !ownNS {
		enter = chroot
	}
	if err := enter(rootfs); err != nil {
		return inField("root.path", err)
	}
	// After pivot_root, which refuses a shared new root (as runc does it).
	if prop != unix.MS_REC|unix.MS_PRIVATE {
		if err := mount("", "/", "", prop, ""); err != nil {
			return inField("linux.rootfsPropagation", err)
		}
	}
	if s.Linux != nil {
		for i, p := range s.Linux.MaskedPaths {
			if err := maskPath(p); err != nil {
				return inField(fmt.Sprintf("linux.maskedPaths[%d]", i), err)
			}
		}
		for i, p := range s.Linux.ReadonlyPaths {
			if err := readonlyPath(p); err != nil {
				return inField(fmt.Sprintf("linux.readonlyPaths[%d]", i), err)
			}
		}
	}
	if cwd := s.Process.Cwd; cwd != "" {
		// As runc does: create a missing working directory (as root, before the
		// user switch and before the rootfs turns read-only).
		if err := os.MkdirAll(cwd, 0o755); err != nil {
			return inField("process.cwd", err)
		}
	}
	if s.Root.Readonly {
		if err := remountReadonly("/"); err != nil {
			return inField("root.readonly", err)
		}
	}
	return nil
}

func isBind(m specs.Mount) bool {
	if m.Type == "bind" {
		return true
	}
	for _, o := range m.Options {
		if o == "bind" || o == "rbind" {
			return true
		}
	}
	return false
}

// mountOne applies one OCI mount below rootfs. The destination is resolved inside
// rootfs (symlinks in the image cannot point it outside).
func mountOne(rootfs string, m specs.Mount) error {
	if !filepath.IsAbs(m.Destination) {
		return fmt.Errorf("destination %q is not absolute", m.Destination)
	}
	if m.Type == "cgroup" || m.Type == "cgroup2" {
		// TODO(issue 5): cgroup filesystems inside the container (needs cgroupns and,
		// on v1/hybrid hosts, one bind per hierarchy). Skipped for now.
		return nil
	}
	dest, err := securejoin.SecureJoin(rootfs, m.Destination)
	if err != nil {
		return err
	}
	o := parseMountOptions(m.Options)
	if isBind(m) {
		o.flags |= unix.MS_BIND
		fi, err := os.Stat(m.Source)
		if err != nil {
			return err
		}
		if err := createMountpoint(dest, fi.IsDir()); err != nil {
			return err
		}
		if err := mount(m.Source, dest, "", unix.MS_BIND|(o.flags&unix.MS_REC), ""); err != nil {
			return err
		}
		// Bind mounts ignore other flags; they need a remount.
		if rest := o.flags &^ (unix.MS_BIND | unix.MS_REC); rest != 0 {
			if err := remountBind(dest, rest); err != nil {
				return err
			}
		}
	} else {
		if err := createMountpoint(dest, true); err != nil {
			return err
		}
		if err := mount(m.Source, dest, m.Type, o.flags, o.data); err != nil {
			return err
		}
	}
	for _, pf := range o.propFlags {
		if err := mount("", dest, "", pf, ""); err != nil {
			return err
		}
	}
	return nil
}

// createMountpoint makes dest a directory or an empty file to mount on.
func createMountpoint(dest string, dir bool) error {
	if dir {
		return os.MkdirAll(dest, 0o755)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(dest, os.O_CREATE|os.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// lockedFlags returns the flags of the mount at path that an unprivileged remount must
// keep (and that a privileged one should keep too).
func lockedFlags(path string) (uintptr, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, &os.PathError{Op: "statfs", Path: path, Err: err}
	}
	const keep = unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC |
		unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME
	return uintptr(st.Flags) & keep, nil
}

func remountBind(path string, flags uintptr) error {
	locked, err := lockedFlags(path)
	if err != nil {
		return err
	}
	return mount("", path, "", unix.MS_BIND|unix.MS_REMOUNT|locked|flags, "")
}

func remountReadonly(path string) error {
	return remountBind(path, unix.MS_RDONLY)
}

// pivotRoot makes rootfs the root and detaches the old one, as runc does: pivot_root
// with new and old root the same directory, then unmount the old root stacked on it.
func pivotRoot(rootfs string) error {
	oldroot, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: "/", Err: err}
	}
	defer unix.Close(oldroot)
	if err := unix.Chdir(rootfs); err != nil {
		return &os.PathError{Op: "chdir", Path: rootfs, Err: err}
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return &os.PathError{Op: "pivot_root", Path: rootfs, Err: err}
	}
	if err := unix.Fchdir(oldroot); err != nil {
		return &os.PathError{Op: "fchdir", Path: "old root", Err: err}
	}
	// Make sure the unmount below does not propagate to the host.
	if err := mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return err
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return &os.PathError{Op: "umount", Path: "old root", Err: err}
	}
	if err := unix.Chdir("/"); err != nil {
		return &os.PathError{Op: "chdir", Path: "/", Err: err}
	}
	return nil
}

// chroot makes rootfs the root of init (all its threads: they share their fs info)
// in its creator's mount namespace. The container can leave a chroot with
// CAP_SYS_CHROOT, as runc's can: a spec without a mount namespace trusts it.
func chroot(rootfs string) error {
	if err := unix.Chdir(rootfs); err != nil {
		return &os.PathError{Op: "chdir", Path: rootfs, Err: err}
	}
	if err := unix.Chroot("."); err != nil {
		return &os.PathError{Op: "chroot", Path: rootfs, Err: err}
	}
	if err := unix.Chdir("/"); err != nil {
		return &os.PathError{Op: "chdir", Path: "/", Err: err}
	}
	return nil
}

// mountID returns the id of the mount that path is on: the unique 64-bit id where the
// kernel has one (Linux 6.8), the reusable one otherwise.
func mountID(path string) (uint64, error) {
	var st unix.Statx_t
	for _, mask := range []int{unix.STATX_MNT_ID_UNIQUE, unix.STATX_MNT_ID} {
		if err := unix.Statx(unix.AT_FDCWD, path, unix.AT_NO_AUTOMOUNT, mask, &st); err != nil {
			return 0, &os.PathError{Op: "statx", Path: path, Err: err}
		}
		if st.Mask&uint32(mask) != 0 {
			return st.Mnt_id, nil
		}
	}
	return 0, &os.PathError{Op: "statx", Path: path, Err: unix.ENOTSUP}
}

// sharedRootfs is, in the creator, the rootfs of a container without a mount
// namespace of its own, with the id of the mount on it before init bound it there.
type sharedRootfs struct {
	path   string
	before uint64
}

// newSharedRootfs returns the sharedRootfs of s, or nil when init gets a mount
// namespace of its own.
func newSharedRootfs(s *specs.Spec) (*sharedRootfs, error) {
	if hasMountNamespace(s) {
		return nil, nil
	}
	path, err := filepath.EvalSymlinks(s.Root.Path)
	if err != nil {
		return nil, fmt.Errorf("%w: root.path: %w", ErrInvalidSpec, err)
	}
	id, err := mountID(path)
	if err != nil {
		return nil, fmt.Errorf("%w: root.path: %w", ErrInit, err)
	}
	return &sharedRootfs{path: path, before: id}, nil
}

// mounted returns the id of the bind mount init made on the rootfs.
func (r *sharedRootfs) mounted() (uint64, error) {
	id, err := mountID(r.path)
	if err == nil && id == r.before {
		err = fmt.Errorf("%w: root.path: %s: no bind mount made by init", ErrInit, r.path)
	}
	return id, err
}

// undo unmounts what a failed init left on the rootfs, if anything.
func (r *sharedRootfs) undo() {
	if r == nil {
		return
	}
	if id, err := mountID(r.path); err == nil && id != r.before {
		_ = UnmountRootfs(r.path, id)
	}
}

// UnmountRootfs removes what a container without a mount namespace of its own left in
// its creator's mount namespace: the bind mount of its rootfs, with everything
// mounted below it (lazily, MNT_DETACH). id is [Process.RootfsMount]; with 0, or when
// the mount on rootfs is no longer that one, it does nothing. Process.Wait calls it;
// another OS process that deletes the container (see Load) calls it itself, in the
// same mount namespace as the creator.
func UnmountRootfs(rootfs string, id uint64) error {
	if id == 0 {
		return nil
	}
	path, err := filepath.EvalSymlinks(rootfs)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	if cur, err := mountID(path); err != nil || cur != id {
		return err
	}
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil {
		return &os.PathError{Op: "umount", Path: path, Err: err}
	}
	return nil
}

// maskPath hides path: /dev/null over a file, an empty read-only tmpfs over a dir.
func maskPath(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return mount("tmpfs", path, "tmpfs", unix.MS_RDONLY, "")
	}
	return mount("/dev/null", path, "", unix.MS_BIND, "")
}

// readonlyPath makes path a read-only bind mount of itself.
func readonlyPath(path string) error {
	if err := mount(path, path, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	return remountReadonly(path)
}
