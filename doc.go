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
//	Create ──▶ created ──Start──▶ running ──(process exits)──▶ exited ──Delete──▶ (gone)
//
// Create mounts the container's root filesystem, makes its cgroup, and clones its init
// into new mount, PID, UTS, IPC and network namespaces. The init joins the cgroup before
// it runs anything, sets up /proc, /dev, /sys, pivots into the root filesystem and
// waits. Start lets it execute the command. Wait returns the ExitStatus (exit code,
// OOMKilled). Delete unmounts, removes the cgroup and the container's directory. A
// step that the current state forbids fails with a *StateError (errors.Is
// ErrInvalidState) naming both.
//
// # Re-exec
//
// Go cannot safely fork into new namespaces, so the container's init is the embedding
// program itself, re-executed from a sealed in-memory copy. That is why Init must be
// the first call in main, and in TestMain of tests that run containers.
package skiff
