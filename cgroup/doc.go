// Package cgroup puts a container's processes under resource limits and controls them as a
// group, on cgroup v1 and cgroup v2 alike, over github.com/containerd/cgroups/v3.
//
// # Vocabulary
//
//   - A cgroup path is the name of one cgroup relative to the root of a hierarchy, e.g.
//     "/skiff/abc123". It must be absolute, clean and not "/".
//   - cgroup v1 ("legacy") mounts one hierarchy per controller at /sys/fs/cgroup/<controller>:
//     one cgroup is a directory in every hierarchy. A "hybrid" host mounts the v1 hierarchies
//     plus a cgroup2 hierarchy at /sys/fs/cgroup/unified (usually with no controllers).
//     cgroup v2 ("unified") has a single hierarchy: one cgroup is one directory.
//   - A [Manager] is one cgroup on one of those backends. [New] and [Load] pick the backend
//     from [DetectMode]: v2 on a unified host, v1 otherwise.
//   - [Resources] are the limits Skiff sets. They are first described as a list of
//     [Setting] values (file → value, see [Resources.V1Settings] and
//     [Resources.V2Settings]; pure functions, testable without root) and then written by a
//     thin apply step of the backend.
//
// # Lifecycle as the engine uses it
//
//	m, err := cgroup.New("/skiff/<id>", res)   // mkdir in every hierarchy, write limits
//	m.AddProc(childPid)                        // before the child runs user code
//	m.Freeze(ctx) / m.Thaw(ctx)                // pause / resume; wait for FROZEN / THAWED
//	m.OOMKilled()                              // after exit: did the kernel OOM-kill a task?
//	m.Kill()                                   // freeze, SIGKILL all, thaw, wait until empty
//	m.Delete()                                 // rmdir everywhere, tolerates a missing one
//
// The CLI equivalents are mkdir/rmdir under /sys/fs/cgroup and echo into the control
// files (cgroup.procs, memory.limit_in_bytes or memory.max, pids.max, cpu.cfs_quota_us or
// cpu.max, freezer.state or cgroup.freeze).
//
// # Kernel behaviour worth knowing
//
// OOM kills are detected from the kernel's counters, not from exit signals: on v1 the
// "oom_kill" line of memory.oom_control (kernel 4.13 and later), on v2 the "oom_kill" line of
// memory.events. Zombie processes are no longer members of a cgroup, so a killed but
// not-yet-reaped child does not keep a cgroup busy; rmdir may still briefly fail with EBUSY
// while dying tasks leave, which [Manager.Delete] retries.
package cgroup
