package namespace

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Security hooks of init. They are the places where issue 5 plugs in Docker's
// defaults; today they only validate what they cannot yet apply.
//
// Order in init (see runInit and setupProcess):
//
//	rlimits → umask → applyCapabilities (bounding set, keep caps across setuid)
//	→ setgroups/setgid/setuid → chdir → no_new_privs → (ready, exec fifo)
//	→ close_range CLOEXEC → applySeccomp → execve

// applyCapabilities will drop the bounding set and set the process's capability sets
// from Process.Capabilities. Not implemented yet: the process keeps root's
// capabilities (and loses them on setuid to a non-root user, as usual).
func applyCapabilities(s *specs.Spec) error {
	_ = s.Process.Capabilities // TODO(issue 5): capset + PR_CAPBSET_DROP + ambient
	return nil
}

// applySeccomp will load Linux.Seccomp (e.g. moby/profiles/seccomp's default) as the
// last step before execve. Not implemented yet.
func applySeccomp(s *specs.Spec) error {
	_ = s.Linux // TODO(issue 5): build and load the BPF filter
	return nil
}
