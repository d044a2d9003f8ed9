package namespace

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// User namespaces (Linux.Namespaces has {Type: "user"} without a Path): init is
// cloned into a new user namespace owning all the others. Before it runs (it waits
// for "go" on the sync socket) the parent writes Linux.UIDMappings and GIDMappings:
// directly into /proc/<pid>/{uid,gid}_map when it is root, with newuidmap/newgidmap
// (apt: uidmap, ranges from /etc/subuid and /etc/subgid) otherwise. Init then
// becomes root of the namespace (setresgid/setresuid 0), so root inside is the host
// uid mapped to 0.
//
// What the engine must provide:
//   - a rootfs owned by the mapped ids: files owned by an unmapped host uid show up
//     as nobody (65534) and root inside cannot write to them. Either chown the
//     container's layers/upper dir by the mapping (Docker's userns-remap: uid u →
//     HostID+u), or — kernel ≥ 5.12 for ext4/xfs/btrfs/tmpfs, overlayfs lowers since
//     5.19 — give overlay idmapped lower/upper mounts: open_tree(dir, OPEN_TREE_CLONE)
//     then mount_setattr(MOUNT_ATTR_IDMAP, userns_fd of the container) and
//     move_mount, so the layers stay shared and unchanged on disk;
//   - every directory above Root.Path and bind sources traversable by the mapped
//     root (mode o+x), since capabilities inside do not apply to unmapped inodes;
//   - no Path on other namespaces (joining host namespaces needs host privileges),
//     and Exec cannot join such a container yet (see Exec).
//
// Devices are bind-mounted from the host, since mknod is not allowed in a user
// namespace.

// userNamespace reports whether s asks for a new user namespace.
func userNamespace(s *specs.Spec) bool {
	if s.Linux == nil {
		return false
	}
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == specs.UserNamespace && ns.Path == "" {
			return true
		}
	}
	return false
}

// validateIDMaps checks that a user namespace comes with mappings and vice versa.
func validateIDMaps(s *specs.Spec) error {
	userns := userNamespace(s)
	var uids, gids []specs.LinuxIDMapping
	if s.Linux != nil {
		uids, gids = s.Linux.UIDMappings, s.Linux.GIDMappings
	}
	switch {
	case userns && (len(uids) == 0 || len(gids) == 0):
		return fmt.Errorf("%w: linux.uidMappings and linux.gidMappings are required with a user namespace", ErrInvalidSpec)
	case !userns && (len(uids) > 0 || len(gids) > 0):
		return fmt.Errorf("%w: linux.uidMappings need a user namespace in linux.namespaces", ErrInvalidSpec)
	}
	for i, m := range uids {
		if m.Size == 0 {
			return fmt.Errorf("%w: linux.uidMappings[%d]: size is 0", ErrInvalidSpec, i)
		}
	}
	for i, m := range gids {
		if m.Size == 0 {
			return fmt.Errorf("%w: linux.gidMappings[%d]: size is 0", ErrInvalidSpec, i)
		}
	}
	return nil
}

// writeIDMaps writes the mappings of s for the (waiting) init pid.
func writeIDMaps(pid int, s *specs.Spec) error {
	if err := writeIDMap(pid, "uid_map", "newuidmap", "linux.uidMappings", s.Linux.UIDMappings); err != nil {
		return err
	}
	return writeIDMap(pid, "gid_map", "newgidmap", "linux.gidMappings", s.Linux.GIDMappings)
}

func writeIDMap(pid int, file, helper, field string, maps []specs.LinuxIDMapping) error {
	var text bytes.Buffer
	args := []string{strconv.Itoa(pid)}
	for _, m := range maps {
		fmt.Fprintf(&text, "%d %d %d\n", m.ContainerID, m.HostID, m.Size)
		args = append(args, strconv.FormatUint(uint64(m.ContainerID), 10),
			strconv.FormatUint(uint64(m.HostID), 10), strconv.FormatUint(uint64(m.Size), 10))
	}
	if os.Geteuid() == 0 {
		path := "/proc/" + strconv.Itoa(pid) + "/" + file
		if err := os.WriteFile(path, text.Bytes(), 0); err != nil {
			return fmt.Errorf("%s: write %q: %w", field, strings.TrimSpace(text.String()), err)
		}
		return nil
	}
	out, err := exec.Command(helper, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %s %s: %w: %s", field, helper, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// becomeNamespaceRoot makes init root of its new user namespace (the mappings are
// written by now). Until then its ids are unmapped, which lets it open host paths
// (the exec fifo) as their owner.
func becomeNamespaceRoot(s *specs.Spec) error {
	if !userNamespace(s) {
		return nil
	}
	if err := syscall.Setresgid(0, 0, 0); err != nil {
		return inField("linux.gidMappings", fmt.Errorf("setresgid 0 in the user namespace (is 0 mapped?): %w", err))
	}
	if err := syscall.Setresuid(0, 0, 0); err != nil {
		return inField("linux.uidMappings", fmt.Errorf("setresuid 0 in the user namespace (is 0 mapped?): %w", err))
	}
	return nil
}
