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

// defaultDevices are the character devices every container gets in its /dev tmpfs.
var defaultDevices = []specs.LinuxDevice{
	{Path: "/dev/null", Type: "c", Major: 1, Minor: 3},
	{Path: "/dev/zero", Type: "c", Major: 1, Minor: 5},
	{Path: "/dev/full", Type: "c", Major: 1, Minor: 7},
	{Path: "/dev/random", Type: "c", Major: 1, Minor: 8},
	{Path: "/dev/urandom", Type: "c", Major: 1, Minor: 9},
	{Path: "/dev/tty", Type: "c", Major: 5, Minor: 0},
}

// defaultDevLinks are the symlinks of a standard /dev (name → target).
var defaultDevLinks = [][2]string{
	{"/dev/fd", "/proc/self/fd"},
	{"/dev/stdin", "/proc/self/fd/0"},
	{"/dev/stdout", "/proc/self/fd/1"},
	{"/dev/stderr", "/proc/self/fd/2"},
	{"/dev/ptmx", "pts/ptmx"},
}

// setupDev fills a fresh /dev tmpfs: the default devices, linux.devices, symlinks.
// Devices are made with mknod, or bind-mounted from the host where mknod is not
// allowed (a user namespace).
func setupDev(rootfs string, s *specs.Spec) error {
	old := unix.Umask(0)
	defer unix.Umask(old)
	for _, d := range defaultDevices {
		mode := os.FileMode(0o666)
		d.FileMode = &mode
		if err := createDevice(rootfs, d); err != nil {
			return inField("mounts (/dev)", err)
		}
	}
	if s.Linux != nil {
		for i, d := range s.Linux.Devices {
			if err := createDevice(rootfs, d); err != nil {
				return inField(fmt.Sprintf("linux.devices[%d]", i), err)
			}
		}
	}
	for _, l := range defaultDevLinks {
		dst := filepath.Join(rootfs, l[0])
		if err := os.Symlink(l[1], dst); err != nil && !errors.Is(err, os.ErrExist) {
			return inField("mounts (/dev)", err)
		}
	}
	return nil
}

func createDevice(rootfs string, d specs.LinuxDevice) error {
	dest, err := securejoin.SecureJoin(rootfs, d.Path)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	var typ uint32
	switch d.Type {
	case "c", "u":
		typ = unix.S_IFCHR
	case "b":
		typ = unix.S_IFBLK
	case "p":
		typ = unix.S_IFIFO
	default:
		return fmt.Errorf("device %s: unknown type %q", d.Path, d.Type)
	}
	perm := uint32(0o666)
	if d.FileMode != nil {
		perm = uint32(d.FileMode.Perm())
	}
	_ = os.Remove(dest)
	err = unix.Mknod(dest, typ|perm, int(unix.Mkdev(uint32(d.Major), uint32(d.Minor))))
	if errors.Is(err, unix.EPERM) && typ != unix.S_IFIFO {
		return bindDevice(dest, d.Path)
	}
	if err != nil {
		return &os.PathError{Op: "mknod", Path: dest, Err: err}
	}
	uid, gid := -1, -1
	if d.UID != nil {
		uid = int(*d.UID)
	}
	if d.GID != nil {
		gid = int(*d.GID)
	}
	if uid != -1 || gid != -1 {
		if err := os.Lchown(dest, uid, gid); err != nil {
			return err
		}
	}
	return nil
}

// bindDevice bind-mounts the host's device at hostPath onto dest.
func bindDevice(dest, hostPath string) error {
	if err := createMountpoint(dest, false); err != nil {
		return err
	}
	return mount(hostPath, dest, "", unix.MS_BIND, "")
}
