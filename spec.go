package skiff

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/sys/user"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiffrt/skiff/namespace"
)

// buildSpec turns an image config and a ContainerConfig into the OCI runtime spec of
// the container's first process. rootfs is the mounted root filesystem, used to
// resolve user and group names.
func buildSpec(ic v1.Config, cfg ContainerConfig, rootfs, hostname string) (*specs.Spec, error) {
	args := slices.Clone(ic.Entrypoint)
	if cfg.Entrypoint != nil {
		args = slices.Clone(cfg.Entrypoint)
		args = append(args, cfg.Cmd...)
	} else if len(cfg.Cmd) > 0 {
		args = append(args, cfg.Cmd...)
	} else {
		args = append(args, ic.Cmd...)
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("%w: the image %q has no Cmd or Entrypoint and none was given", ErrNoCommand, cfg.Image)
	}

	env := mergeEnv(ic.Env, []string{"HOSTNAME=" + hostname}, cfg.Env)
	if !hasEnv(env, "PATH") {
		env = append([]string{"PATH=" + namespace.DefaultPath}, env...)
	}

	userSpec := cfg.User
	if userSpec == "" {
		userSpec = ic.User
	}
	u, err := resolveUser(rootfs, userSpec)
	if err != nil {
		return nil, err
	}
	if !hasEnv(env, "HOME") {
		home := u.Home
		if home == "" {
			home = "/"
		}
		env = append(env, "HOME="+home)
	}

	cwd := cfg.WorkingDir
	if cwd == "" {
		cwd = ic.WorkingDir
	}
	if cwd == "" {
		cwd = "/"
	}
	if !path.IsAbs(cwd) {
		return nil, fmt.Errorf("%w: WorkingDir %q is not an absolute path", ErrInvalidConfig, cwd)
	}

	gids := make([]uint32, 0, len(u.Sgids)+len(cfg.GroupAdd))
	for _, g := range u.Sgids {
		gids = append(gids, uint32(g))
	}
	if len(cfg.GroupAdd) > 0 {
		extra, err := resolveGroups(rootfs, cfg.GroupAdd)
		if err != nil {
			return nil, err
		}
		for _, g := range extra {
			if !slices.Contains(gids, g) {
				gids = append(gids, g)
			}
		}
	}
	caps, err := capabilities(cfg)
	if err != nil {
		return nil, err
	}
	spec := &specs.Spec{
		Version:  specs.Version,
		Hostname: hostname,
		Root:     &specs.Root{Path: rootfs, Readonly: cfg.ReadonlyRootfs},
		Process: &specs.Process{
			Args: args,
			Env:  env,
			Cwd:  path.Clean(cwd),
			User: specs.User{UID: uint32(u.Uid), GID: uint32(u.Gid), AdditionalGids: gids},
			Capabilities: &specs.LinuxCapabilities{
				Bounding: caps, Effective: caps, Permitted: caps,
			},
		},
		Mounts: namespace.DefaultMounts(),
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.IPCNamespace}, {Type: specs.UTSNamespace},
				{Type: specs.MountNamespace}, {Type: specs.NetworkNamespace},
			},
			MaskedPaths:   slices.Clone(namespace.DefaultMaskedPaths),
			ReadonlyPaths: slices.Clone(namespace.DefaultReadonlyPaths),
		},
		Annotations: map[string]string{},
	}
	if cfg.ShmSize < 0 {
		return nil, fmt.Errorf("%w: ShmSize %d: must not be negative", ErrInvalidConfig, cfg.ShmSize)
	}
	if cfg.ShmSize > 0 {
		for i, m := range spec.Mounts {
			if m.Destination == "/dev/shm" {
				opts := slices.DeleteFunc(slices.Clone(m.Options), func(o string) bool { return strings.HasPrefix(o, "size=") })
				spec.Mounts[i].Options = append(opts, "size="+strconv.FormatInt(cfg.ShmSize, 10))
			}
		}
	}
	if len(cfg.Sysctls) > 0 {
		spec.Linux.Sysctl = maps.Clone(cfg.Sysctls)
	}
	p := spec.Process
	p.Terminal = cfg.Tty
	p.NoNewPrivileges = cfg.NoNewPrivileges
	p.Rlimits = slices.Clone(cfg.Ulimits)
	if cfg.Init {
		spec.Annotations[namespace.AnnotationInit] = "true"
	}
	if cfg.Privileged {
		spec.Linux.MaskedPaths, spec.Linux.ReadonlyPaths = nil, nil
		for i, m := range spec.Mounts {
			if m.Destination == "/sys" {
				spec.Mounts[i].Options = slices.DeleteFunc(slices.Clone(m.Options), func(o string) bool { return o == "ro" })
			}
		}
	} else {
		sc, err := namespace.DefaultSeccomp(p.Capabilities)
		if err != nil {
			return nil, err
		}
		spec.Linux.Seccomp = sc
	}
	return spec, nil
}

// capabilities computes the container's capability set as Docker does: every
// capability with Privileged; with "ALL" in CapAdd, every capability but those of
// CapDrop; with "ALL" in CapDrop, only those of CapAdd; else Docker's default set minus
// CapDrop plus CapAdd. Names are taken in any case, with or without "CAP_".
func capabilities(cfg ContainerConfig) ([]string, error) {
	if cfg.Privileged {
		return namespace.AllCapabilities(), nil
	}
	norm := func(list []string) []string {
		out := make([]string, 0, len(list))
		for _, c := range list {
			c = strings.ToUpper(c)
			if c != "ALL" && !strings.HasPrefix(c, "CAP_") {
				c = "CAP_" + c
			}
			out = append(out, c)
		}
		return out
	}
	add, drop := norm(cfg.CapAdd), norm(cfg.CapDrop)
	var caps []string
	switch {
	case slices.Contains(add, "ALL"):
		caps = namespace.AllCapabilities()
	case slices.Contains(drop, "ALL"):
		caps = nil
	default:
		caps = namespace.DefaultCapabilities()
	}
	caps = slices.DeleteFunc(caps, func(c string) bool { return slices.Contains(drop, c) })
	for _, c := range add {
		if c != "ALL" && !slices.Contains(caps, c) {
			caps = append(caps, c)
		}
	}
	return caps, nil
}

// resolveUser resolves a Docker user spec in the image's /etc/passwd and /etc/group.
// Numeric IDs need no entry; names do.
func resolveUser(rootfs, spec string) (*user.ExecUser, error) {
	passwd, err := securejoin.SecureJoin(rootfs, "/etc/passwd")
	if err != nil {
		return nil, fmt.Errorf("%w: User %q: %w", ErrInvalidConfig, spec, err)
	}
	group, err := securejoin.SecureJoin(rootfs, "/etc/group")
	if err != nil {
		return nil, fmt.Errorf("%w: User %q: %w", ErrInvalidConfig, spec, err)
	}
	defaults := &user.ExecUser{Uid: 0, Gid: 0, Home: "/"}
	u, err := user.GetExecUserPath(spec, defaults, passwd, group)
	if err != nil {
		return nil, fmt.Errorf("%w: User %q: %w", ErrInvalidConfig, spec, err)
	}
	return u, nil
}

// resolveGroups resolves GroupAdd entries (names in rootfs's /etc/group, or numeric
// ids) to group ids.
func resolveGroups(rootfs string, groups []string) ([]uint32, error) {
	path, err := securejoin.SecureJoin(rootfs, "/etc/group")
	if err != nil {
		return nil, fmt.Errorf("%w: GroupAdd: %w", ErrInvalidConfig, err)
	}
	// One entry at a time: the library answers a list in no stable order, and the
	// groups are kept in the order they were given.
	out := make([]uint32, 0, len(groups))
	for _, g := range groups {
		ids, err := user.GetAdditionalGroupsPath([]string{g}, path)
		if err != nil {
			return nil, fmt.Errorf("%w: GroupAdd %q: %w", ErrInvalidConfig, g, err)
		}
		for _, id := range ids {
			out = append(out, uint32(id))
		}
	}
	return out, nil
}

// mergeEnv merges KEY=VALUE lists; a later list replaces the keys of earlier ones and
// the first position of a key is kept.
func mergeEnv(lists ...[]string) []string {
	var out []string
	index := map[string]int{}
	for _, l := range lists {
		for _, kv := range l {
			k, _, _ := strings.Cut(kv, "=")
			if i, ok := index[k]; ok {
				out[i] = kv
				continue
			}
			index[k] = len(out)
			out = append(out, kv)
		}
	}
	return out
}

func hasEnv(env []string, key string) bool {
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			return true
		}
	}
	return false
}
