// Package skiff is a daemonless container engine as a Go library: pull an image from a
// registry, unpack it into shared OverlayFS layers, and run it in fresh Linux
// namespaces under cgroup limits, all in the calling process.
//
// # Embedding
//
//	func main() {
//		skiff.Init() // first thing: in a container's init this never returns
//		e, err := skiff.New(skiff.WithRoot("/var/lib/skiff"))
//		if err != nil { log.Fatal(err) }
//		ctx := context.Background()
//		if _, err := e.Pull(ctx, "registry.example.com/busybox:latest"); err != nil { log.Fatal(err) }
//		st, err := e.Run(ctx, skiff.ContainerConfig{
//			Image: "registry.example.com/busybox:latest",
//			Cmd:   []string{"echo", "hello"},
//			Stdout: os.Stdout, Stderr: os.Stderr,
//			AutoRemove: true,
//		})
//		fmt.Println(st.Code, err)
//	}
//
// # Vocabulary
//
// An Engine owns one state root (default /var/lib/skiff):
//
//	images/              the image store, a standard OCI image layout (package registry)
//	layers/<chain id>/   each image layer unpacked once, shared by every container (package overlay)
//	containers/<id>/     one container: state.json, config.json (its OCI runtime spec),
//	                     upper/ and work/ (its private writable layer), merged/ (its root)
//
// A layer is keyed by its chain ID (the digest of its content on top of its parents),
// so two images sharing a base share its unpacked directories, and two containers of
// one image mount the very same lower directories.
//
// # Lifecycle
//
// A container moves through these states (Status):
//
//	Create ──▶ created ──Start──▶ running ⇄ paused ──(process exits, Stop, Kill)──▶ exited ──Delete──▶ (gone)
//	                                 (Pause / Resume)                               │
//	                                                          Start again / Restart ◀┘
//
// Create mounts the container's root filesystem, makes its cgroup, attaches its network
// and clones its init into new mount, PID, UTS, IPC and network namespaces. The init
// joins the cgroup before it runs anything, sets up /proc, /dev, /sys, pivots into the
// root filesystem and waits. Start lets it execute the command. Wait returns the
// ExitStatus (exit code, OOMKilled). Stop sends the image's stop signal, then SIGKILL
// after a timeout; Pause and Resume freeze and thaw the cgroup; Exec runs another
// process inside; Delete unmounts, removes the cgroup, the network endpoints and the
// container's directory. A step that the current state forbids fails with a
// *StateError (errors.Is ErrInvalidState) naming both.
//
// Every step is persisted (state.json, written atomically under a per-container lock),
// so any process on the same root lists and controls every container: Engine.Container
// and Engine.Containers find them, whoever created them.
//
// # Detached containers and the monitor
//
// With ContainerConfig.Detach the container's init is the child of a monitor — this
// same binary re-executed, a few MB of memory — instead of the creating program. The
// monitor logs the container's output as JSON lines (Container.Logs), reaps it and
// records its exit status, so the container outlives the program that made it. With
// namespace.SetInitBinary, the monitor of a container without a terminal, open stdin
// or health check waits as that small program (namespace.ExecWaiter: about conmon's
// RSS) and execve's this binary again only to record the exit.
//
// A detached container created with OpenStdin or Tty also gets an attach socket from its
// monitor: Container.Attach connects stdin, output and terminal size from any process
// (docker attach), and ^P^Q-style detaching leaves it running.
//
// The monitor also carries out what the container was created with for its exit:
// AutoRemove removes it, once the clients that hold it (Container.Hold; Wait, Await
// and a following LogEntries hold it too) have read its exit code and the end of its
// log; a RestartPolicy runs it again (State.RestartCount), until Stop or Kill.
// Await, called before Start, never misses an exit however fast (containerd's
// Task.Wait); UntilNextExit and UntilRemoved are docker wait's conditions.
//
// What a container was created with is recorded with its state (Container.Config),
// with ContainerConfig.Extensions: a client's own data, written in the same atomic
// step, so a program built on Skiff (a Docker API daemon) keeps no store of its own.
//
// # Rootless
//
// A program run by an unprivileged user calls InitRootless instead of Init: it
// re-executes itself in a user namespace mapped from /etc/subuid and /etc/subgid
// (newuidmap), where the engine runs with user-xattr overlay layers, no cgroup limits
// and the none and host networks only.
//
// # Images, builds, networks, volumes
//
// Engine.Pull, Push, Import, Build (a Dockerfile, with a layer cache) and
// Container.Commit fill the image store; Engine.Check verifies and repairs the whole root after a crash, and
// PruneImages / PruneSystem collect what nothing uses. Each store checks its own layout
// (registry.Store.Check, overlay.Store.Check, builder.Builder.Check) and Check composes
// their reports with the engine's own look at containers; a collection takes the image
// store's GC lock (registry.Store.LockGC), which pulls and builds hold shared. Engine.Networks manages bridge
// networks (NAT, published ports, names); CreateVolume and friends manage named volumes,
// which ContainerConfig.Mounts uses along with bind and tmpfs mounts.
//
// # Errors
//
// Every sentinel (ErrNotFound, ErrNameInUse, ErrVolumeNotFound, registry's and
// netbridge's) belongs to one class of package errdefs, so errors.Is(err,
// errdefs.ErrNotFound) asks "is something missing?" of any noun, and
// errdefs.HTTPStatus gives the Docker API status.
//
// # Layout of the root package
//
// The Engine is a façade over small stores that each own one part of the root:
// containerStore (containers/: state, locks, watch), volumeStore (volumes/), and the
// leaf packages' stores (registry: images/, overlay: layers/, netbridge: network/).
// The monitor of a detached container uses containerStore and a remover directly; it
// never builds an Engine.
//
// # Re-exec
//
// Go cannot safely fork into new namespaces, so the container's init is the embedding
// program itself, re-executed from a sealed in-memory copy. That is why Init must be
// the first call in main, and in TestMain of tests that run containers.
package skiff
