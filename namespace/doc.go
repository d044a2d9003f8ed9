// Package namespace starts a container's first process in fresh Linux namespaces and
// prepares its root filesystem, the way runc's libcontainer does, without a C helper.
//
// # Vocabulary
//
//   - parent: the Go program embedding Skiff (it calls [Create]).
//   - init: the same program re-executed from a sealed copy of its own binary with a
//     marker in its environment (or, after [SetInitBinary], a small program whose
//     main calls [Init], such as examples/skiff-nsinit); [Init] recognises it and runs
//     the container setup. It becomes the container's PID 1 and finally execve's the
//     user command.
//   - created: init has set up the rootfs, switched user and resolved the command, and
//     waits on the exec fifo (StateDir/exec.fifo). [Process.Start] releases it.
//
// # Why a re-exec
//
// The Go runtime is multi-threaded before main runs, so a Go program cannot safely
// fork and then set up namespaces in the child. Instead os/exec clones the child with
// SysProcAttr.Cloneflags (new mount, PID, UTS, IPC, network, cgroup namespaces) and the
// child, a fresh Go process, finishes the job. Every program that uses this package
// must therefore call [Init] first thing in main (skiff.Init does), and every test
// binary that starts containers needs a TestMain calling it before m.Run.
//
// Go runs every linked package's init before main, in the init too: a large embedder
// (166 package inits for the skiff CLI, 16 ms to main) pays for them at every
// container start and exec. [SetInitBinary] names a small program to run instead
// (examples/skiff-nsinit: 26 package inits, 3 ms); it must come from the same Skiff
// version, which the "go" and "exec" messages check (protoVersion). The same small
// program can be a detached container's waiter ([ExecWaiter]).
//
// # The protocol
//
// Parent and init talk over a unix socketpair (init's end is fd 3) with JSON messages:
//
//	parent (Create)                          init (Init, fd 3 = sync socket)
//	---------------                          -------------------------------
//	sealed memfd copy of /proc/self/exe
//	mkfifo StateDir/exec.fifo
//	cmd.Start (clone NEWNS|NEWPID|...) ───►  Go runtime starts, Init() sees the marker
//	                                         blocks reading fd 3 (no container code ran)
//	cfg.BeforeInit(pid)
//	  (engine: cgroup, network)
//	send {"type":"go", spec, fifo} ──────►   mount / rprivate, bind rootfs onto itself,
//	                                         Spec.Mounts, /dev nodes + symlinks,
//	                                         open exec fifo O_PATH, pivot_root, detach
//	                                         old root, masked + read-only paths, ro root,
//	                                         hostname, rlimits, mkdir cwd, user, chdir,
//	                                         resolve Args[0] in PATH of Process.Env
//	         ◄──────────────────────────────  {"type":"ready"} or {"type":"error", ...}
//	Create returns *Process                  clear Pdeathsig
//	   ...  (any time, any OS process)       open exec fifo O_WRONLY (blocks)
//	Process.Start: open fifo, read ◄────────  write one byte, close
//	remove fifo                              mark fds >= 3 close-on-exec
//	wait for EOF on the socket ◄────────────  execve(Args) — EOF on success, or
//	                                         {"type":"error"} then exit 127/126
//	Process.Wait: reap, ExitStatus
//
// A cgroup namespace is unshared by init right after "go", so its root is the cgroup
// BeforeInit put init in. An error before "ready" kills init; Create returns it wrapped ([ErrNotFound],
// [ErrNotExecutable] or [ErrInit]) and naming the spec field or path involved.
//
// # Exec
//
// [Exec] runs another process in a running container: a goroutine locked to a fresh
// OS thread calls unshare(CLONE_FS), setns into each of the container's namespaces
// but the mount namespace, and forks from that thread the sealed binary in exec mode
// (initEnv = "exec"); the thread is then thrown away (the goroutine exits locked).
// The main thread is never used for this, since the runtime keeps it forever. The
// helper starts from the host's filesystem (a cgo binary needs the host's dynamic
// loader), joins the mount namespace on its own main thread (unshare CLONE_FS, setns
// fd 6), gets the process over its sync socket and applies rlimits, seccomp,
// capabilities, user, cwd and no_new_privs exactly as init does before execve'ing
// the command:
//
//	parent (Exec)                            helper (Init, mode exec)
//	locked thread: unshare(CLONE_FS),
//	setns all but mnt, BeforeFork(tid)
//	cmd.Start /proc/self/fd/4 ───────────►   Go runtime starts (host fs), in the
//	  (fd 3 sync, 5 console, 6 mnt ns)       container's pid/net/ipc/uts/cgroup ns
//	                                         unshare(CLONE_FS), setns(6, mnt)
//	send {"type":"exec", spec} ──────────►   rlimits, seccomp (no NNP), bounding,
//	                                         user, caps, chdir, NNP, resolve Args[0],
//	                                         close_range, seccomp (NNP), execve
//	EOF: running ◄──────────────────────────  or {"type":"error"} then exit 126/127
//
// # Joined and shared namespaces
//
// A Linux.Namespaces entry with a Path is joined instead of made (nsjoin.go): net,
// uts, ipc, cgroup and mnt by init's main thread (mnt last, after unshare(CLONE_FS),
// the rootfs then set up and pivoted into inside the joined namespace), pid by the
// parent's forking thread, whose pid_for_children is set for the clone of init and
// restored after it. A user namespace cannot be joined (setns needs a single-threaded
// process). A list without a mount entry leaves init in its creator's mount
// namespace: the rootfs is bound onto itself (private), the mounts go below it and
// init chroots, as runc does; [Process.RootfsMount] and [UnmountRootfs] remove them
// once the container is gone (Wait does), and Exec chroots its helper there too.
//
// # Terminal and init
//
// With Process.Terminal, init (or the exec helper) allocates a pty in the
// container's devpts, sends the master to the parent over a console socket (fd 5,
// SCM_RIGHTS) and takes the slave as stdio and controlling terminal ([Process.Console],
// [Process.Resize]; see console.go). With Annotations[AnnotationInit] = "true" init
// stays as PID 1, forks the command, forwards signals and reaps zombies (reaper.go).
//
// # User namespaces
//
// A {Type: "user"} namespace without Path plus Linux.UIDMappings/GIDMappings: init
// is cloned into it keeping its capabilities as ambient ones, the parent writes the
// maps (directly as root, newuidmap/newgidmap otherwise) before "go", and init
// becomes root of the namespace. The rootfs must belong to the mapped ids (see
// userns.go for what the engine does: chown or idmapped mounts).
//
// # Security settings
//
// Process.Capabilities (all five sets), Process.NoNewPrivileges and Linux.Seccomp are
// applied by init in runc's order (see security.go): seccomp first when no_new_privs
// is off (loading a filter then needs CAP_SYS_ADMIN), bounding set, PR_SET_KEEPCAPS
// around the user switch, capset, ambient set, no_new_privs, and seccomp right before
// execve when no_new_privs is on. A nil Process.Capabilities leaves root's
// capabilities; [DefaultSpec] fills Docker's defaults ([DefaultCapabilities],
// [DefaultSeccomp]).
//
// Seccomp needs no libseccomp: Linux.Seccomp is compiled in pure Go to a classic BPF
// program (seccomp.go, bpf.go) for x86_64; other ABIs (i386, x32) are killed.
package namespace
