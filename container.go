package skiff

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiffrt/skiff/cgroup"
	"github.com/skiffrt/skiff/namespace"
	"github.com/skiffrt/skiff/netbridge"
	"github.com/skiffrt/skiff/overlay"
)

// Resources are a container's cgroup limits. Zero values mean "no limit".
type Resources = cgroup.Resources

// ContainerConfig describes a container to create. Only Image is required; every
// other field falls back to the image's config or to Docker's default.
//
// The engine records the config with the container's state (State.Config), all but
// the standard streams, which belong to the creating process; Container.Config
// returns it.
type ContainerConfig struct {
	// Image is the image reference (name, digest or ID prefix) in the local store.
	Image string
	// Name is the container's unique name ([a-zA-Z0-9][a-zA-Z0-9_.-]*). Default: the
	// first 12 hex digits of its ID.
	Name string
	// Entrypoint, when non-nil, replaces the image's entrypoint (and, as in Docker,
	// drops the image's Cmd).
	Entrypoint []string
	// Cmd, when non-empty, replaces the image's Cmd.
	Cmd []string
	// Env entries (KEY=VALUE) are added to the image's, replacing the same keys.
	Env []string
	// WorkingDir replaces the image's working directory. Created if missing.
	WorkingDir string
	// User is "uid", "uid:gid", "name" or "name:group", resolved in the image's
	// /etc/passwd and /etc/group. Default: the image's user, else root.
	User string
	// Hostname of the container's UTS namespace. Default: the short container ID.
	Hostname string
	// Network is NetworkBridge (the default), NetworkNone, NetworkHost or the name of a
	// user-defined bridge network.
	Network string
	// Aliases are extra names other containers of a user network resolve to this one.
	Aliases []string
	// Ports are published ports (docker run -p), on bridge networks only.
	Ports []netbridge.PortMapping
	// Mounts are bind mounts, named volumes and tmpfs mounts (docker run -v, --tmpfs).
	Mounts []Mount
	// Tty gives the container a pseudo-terminal (docker run -t); read and write it
	// through Container.Console, or Container.Attach when detached.
	Tty bool
	// OpenStdin keeps a detached container's stdin open for Container.Attach
	// (docker run -i): until a client closes it (AttachOptions.CloseStdin) it never
	// ends. A foreground container reads Stdin instead.
	OpenStdin bool
	// Init runs a small init as PID 1 that forwards signals to the command and reaps
	// orphaned zombies (docker run --init).
	Init bool
	// Privileged lifts the confinement: every capability, no seccomp filter, no masked
	// or read-only paths (docker run --privileged).
	Privileged bool
	// CapAdd and CapDrop adjust the capability set ("NET_ADMIN" or "CAP_NET_ADMIN";
	// "ALL").
	CapAdd, CapDrop []string
	// NoNewPrivileges sets no_new_privs: no gaining privileges through setuid binaries
	// (docker run --security-opt no-new-privileges).
	NoNewPrivileges bool
	// Ulimits are resource limits of the process (docker run --ulimit); each must stay
	// within the host's hard limit. Default: the creating process's limits.
	Ulimits []specs.POSIXRlimit
	// Resources are the cgroup limits.
	Resources Resources
	// ReadonlyRootfs mounts the container's root filesystem read-only.
	ReadonlyRootfs bool
	// ShmSize is the size in bytes of the container's /dev/shm (docker --shm-size); 0
	// means 64 MiB.
	ShmSize int64 `json:",omitempty"`
	// Sysctls are kernel parameters set in the container's own namespaces before its
	// command runs (docker --sysctl): only namespaced ones (net.* with a network
	// namespace of its own, the IPC ones, kernel.hostname/domainname); any other is
	// refused, naming the key, as it would change the host.
	Sysctls map[string]string `json:",omitempty"`
	// GroupAdd are supplementary groups of the container's process (docker
	// --group-add): names of its /etc/group, or numeric ids.
	GroupAdd []string `json:",omitempty"`
	// ExtraHosts are lines added to the container's /etc/hosts (docker --add-host):
	// "name:ip" (or "name=ip"); the ip "host-gateway" is the gateway of the
	// container's network, the host as the container reaches it.
	ExtraHosts []string `json:",omitempty"`
	// DNS, DNSSearch and DNSOptions replace the nameserver, search and options lines
	// of the container's /etc/resolv.conf (docker --dns, --dns-search, --dns-option).
	DNS        []string `json:",omitempty"`
	DNSSearch  []string `json:",omitempty"`
	DNSOptions []string `json:",omitempty"`
	// Labels are free-form metadata recorded with the container.
	Labels map[string]string
	// Extensions are a client's own data about the container, opaque to the engine and
	// recorded with its state in the same atomic write (as containerd's extensions):
	// a program embedding Skiff keeps there what it needs to know of each container
	// (a Docker API daemon, the create request it answered) without a store of its
	// own. Keys are free-form; prefix them with the client's name.
	Extensions map[string][]byte `json:",omitempty"`
	// AutoRemove deletes the container when Run returns (docker run --rm); a detached
	// one, when its process exits (its monitor does it).
	AutoRemove bool
	// RestartPolicy runs a detached container again when its process exits (docker
	// run --restart). It conflicts with AutoRemove.
	RestartPolicy RestartPolicy `json:",omitzero"`
	// Healthcheck probes a detached container's health while it runs (docker run
	// --health-cmd, ...; State.Health); its zero fields take the image's HEALTHCHECK.
	// Nil: the image's. Test {"NONE"}: none. Containers that are not detached have no
	// monitor to probe them.
	Healthcheck *Healthcheck `json:",omitempty"`
	// StopSignal is the signal Stop sends first (docker run --stop-signal): a name
	// ("SIGINT", "INT") or a number. Default: the image's STOPSIGNAL, else SIGTERM.
	StopSignal string `json:",omitempty"`
	// StopTimeout is how long Stop given ConfigStopTimeout waits for the process to
	// end after the stop signal before it kills it (docker run --stop-timeout); a
	// negative value waits without limit. Nil: DefaultStopTimeout.
	StopTimeout *time.Duration `json:",omitempty"`
	// Links are legacy links to running containers of its network (docker run
	// --link); see Link.
	Links []Link `json:",omitempty"`
	// Detach runs the container under a monitor process, so that it outlives the
	// creating program; its output goes to its log (Container.Logs) and Stdin,
	// Stdout and Stderr are ignored (docker run -d). With OpenStdin or Tty its streams
	// are reached through Container.Attach.
	Detach bool
	// Stdin, Stdout and Stderr connect the container's standard streams. Nil means
	// /dev/null. They are used only by the process that creates the container.
	Stdin          io.Reader `json:"-"`
	Stdout, Stderr io.Writer `json:"-"`
}

// ExitStatus is how a container's process ended.
type ExitStatus struct {
	// Code is the exit code, or 128+N when signal N killed the process (as a shell
	// reports it).
	Code int
	// OOMKilled is true when the kernel's OOM killer killed a process of the container
	// because it hit its memory limit.
	OOMKilled bool
}

// Container is one container of an Engine. Its methods are the lifecycle steps; each
// refuses a step the current state does not allow with a *StateError.
//
// A Container obtained from Create holds the container's process and can Wait for it;
// one obtained from Engine.Container in another process sees and controls the same
// container through its persisted state.
type Container struct {
	e  *Engine
	id string // immutable; everything else of the state is read under mu
	mu sync.Mutex
	st *State
	cg cgroup.Manager

	removed  bool               // its state is gone: another process deleted it
	proc     *namespace.Process // set only in the process that created the container
	waitOnce sync.Once
	waitDone chan struct{}
	exit     ExitStatus
	waitErr  error
}

var validName = newLazyRegexp(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

func newID() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b)
}

// Create makes a container from cfg: it mounts the container's root filesystem (an
// overlay of the image's shared layers under a private upper dir), creates its cgroup,
// and starts its init in new namespaces, where it waits just before running the
// command until Start. On error nothing of the container is left behind.
func (e *Engine) Create(ctx context.Context, cfg ContainerConfig) (_ *Container, err error) {
	if cfg.Image == "" {
		return nil, fmt.Errorf("%w: Image is empty", ErrInvalidConfig)
	}
	if cfg.Name != "" && !validName.MatchString(cfg.Name) {
		return nil, fmt.Errorf("%w: Name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", ErrInvalidConfig, cfg.Name)
	}
	if err := cfg.RestartPolicy.validate(&cfg); err != nil {
		return nil, err
	}
	if err := cfg.Healthcheck.validate(); err != nil {
		return nil, err
	}
	if _, err := ParseSignal(cfg.StopSignal); err != nil {
		return nil, fmt.Errorf("StopSignal: %w", err)
	}
	if err := e.checkRootless(cfg); err != nil {
		return nil, err
	}
	img, err := e.images.Image(ctx, cfg.Image)
	if err != nil {
		return nil, err
	}
	if err := e.unpack(ctx, img); err != nil {
		return nil, err
	}

	id := newID()
	name := cfg.Name
	if name == "" {
		name = id[:12]
	}
	links, err := e.resolveLinks(ctx, cfg, name, networkMode(cfg.Network))
	if err != nil {
		return nil, err
	}
	if len(links.links) > 0 {
		cfg.Links = links.links
		cfg.Env = append(links.env, cfg.Env...) // the container's own win
	}
	unlock, err := e.lockRoot()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if other, ok := e.nameTaken(name); ok {
		return nil, fmt.Errorf("%w: %q is used by container %s", ErrNameInUse, name, shortID(other))
	}

	dir, err := e.ctrs.create(id)
	if err != nil {
		return nil, err
	}
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
			os.RemoveAll(dir)
		}
	}()

	chains := chainIDs(img)
	m, err := e.layers.Prepare(ctx, dir, chains)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", shortID(id), err)
	}
	merged := filepath.Join(dir, "merged")
	if err := os.Mkdir(merged, 0o755); err != nil {
		return nil, fmt.Errorf("container %s: %w", shortID(id), err)
	}
	if err := m.Mount(merged); err != nil {
		return nil, fmt.Errorf("container %s: %w", shortID(id), err)
	}
	undo = append(undo, func() { overlay.Unmount(merged) })

	cfg.Healthcheck = mergeHealthcheck(cfg.Healthcheck, img.Config.Config.Healthcheck)
	var healthShell []string
	if cfg.Healthcheck.Enabled() && cfg.Healthcheck.Test[0] == "CMD-SHELL" {
		healthShell = img.Config.Config.Shell
	}
	hostname := cfg.Hostname
	if hostname == "" {
		hostname = id[:12]
	}
	spec, err := buildSpec(img.Config.Config, cfg, merged, hostname)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", shortID(id), err)
	}
	extra, err := e.mountSpecs(ctx, id, cfg.Mounts, merged)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", shortID(id), err)
	}
	spec.Mounts = append(spec.Mounts, extra...)
	undo = append(undo, func() { e.vols.dropAnonymousVolumes(extra) })
	if cfg.OpenStdin && cfg.Detach {
		spec.Annotations[annotationOpenStdin] = "true"
	}
	if cfg.Healthcheck.Enabled() {
		spec.Annotations[annotationHealthcheck] = "true" // the monitor probes it (no small waiter)
	}
	plan := &netPlan{mode: networkMode(cfg.Network), dir: dir, id: id, name: name, host: hostname, aliases: cfg.Aliases, ports: cfg.Ports, links: links.net}
	if err := plan.setNames(cfg); err != nil {
		return nil, fmt.Errorf("container %s: %w", shortID(id), err)
	}
	if err := e.prepareNetwork(ctx, plan, spec); err != nil {
		return nil, fmt.Errorf("container %s: %w", shortID(id), err)
	}
	e.rootlessSpec(spec)
	if err := namespace.CheckSysctls(spec); err != nil {
		return nil, fmt.Errorf("container %s: Sysctls: %w", shortID(id), err)
	}
	if err := e.ctrs.saveSpec(id, spec); err != nil {
		return nil, err
	}

	cgPath := "/" + strings.Trim(e.cgroupParent, "/") + "/" + id
	cg, err := e.newCgroup(cgPath, cfg.Resources)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", shortID(id), err)
	}
	undo = append(undo, func() { cg.Kill(); cg.Delete() })

	undo = append(undo, func() { e.detachNetwork(context.WithoutCancel(ctx), id) })
	beforeInit := func(pid int) error {
		if err := cg.AddProc(pid); err != nil {
			return err
		}
		if err := e.attachNetwork(ctx, plan, pid); err != nil {
			return err
		}
		return namespace.ApplySysctls(pid, spec)
	}
	var proc *namespace.Process
	var pid, owner int
	if cfg.Detach {
		pid, owner, err = e.spawnMonitor(ctx, id, cfg.AutoRemove, beforeInit)
		if err != nil {
			return nil, fmt.Errorf("container %s: %w", shortID(id), err)
		}
		undo = append(undo, func() { cg.Kill() })
	} else {
		proc, err = e.createInit(ctx, &namespace.Config{
			Spec:       spec,
			StateDir:   dir,
			Stdin:      cfg.Stdin,
			Stdout:     cfg.Stdout,
			Stderr:     cfg.Stderr,
			BeforeInit: beforeInit,
		})
		if err != nil {
			err = commandError(err)
			return nil, fmt.Errorf("container %s: %w", shortID(id), err)
		}
		pid, owner = proc.Pid, os.Getpid()
		undo = append(undo, func() { proc.Signal(syscall.SIGKILL); proc.Wait() })
	}

	layers := make([]string, len(chains))
	for i, c := range chains {
		layers[i] = c.String()
	}
	st := &State{
		ID:         id,
		Name:       name,
		Image:      cfg.Image,
		ImageID:    img.ID.String(),
		Status:     StatusCreated,
		Pid:        pid,
		Owner:      owner,
		Detached:   cfg.Detach,
		AutoRemove: cfg.AutoRemove,
		StopSignal: cmp.Or(cfg.StopSignal, img.Config.Config.StopSignal),
		Created:    time.Now().UTC(),
		Cgroup:     cgPath,
		Resources:  cfg.Resources,
		Network:    plan.mode,
		Aliases:    cfg.Aliases,
		Ports:      cfg.Ports,
		Cmd:        spec.Process.Args,
		Hostname:   hostname,
		Layers:     layers,
		Labels:     cfg.Labels,
		Config:     recordedConfig(cfg),

		HealthShell: healthShell,
	}
	if err := e.ctrs.save(st); err != nil {
		return nil, err
	}
	e.emit(EventContainer, "create", st.ID, containerEventAttrs(st))
	e.log.Debug("container created", "id", shortID(id), "name", name, "image", cfg.Image, "pid", pid)
	return &Container{e: e, id: id, st: st, cg: cg, proc: proc, waitDone: make(chan struct{})}, nil
}

// ID returns the container's 64-hex-digit ID.
func (c *Container) ID() string { return c.id }

// recordedConfig is the part of cfg recorded in the state: all but the streams of the
// creating process.
func recordedConfig(cfg ContainerConfig) *ContainerConfig {
	cfg.Stdin, cfg.Stdout, cfg.Stderr = nil, nil, nil
	return &cfg
}

// Config returns what the container was created with (ContainerConfig), Extensions
// included; its Stdin, Stdout and Stderr are nil. For a container created before the
// engine recorded its config, it holds what the state tells: image, name, network,
// ports, resources, labels and the --rm and detach choices.
func (c *Container) Config() ContainerConfig {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.st
	if st.Config != nil && st.Config.Image != "" {
		cfg := *st.Config
		cfg.Extensions = maps.Clone(cfg.Extensions)
		cfg.Labels = maps.Clone(cfg.Labels)
		return cfg
	}
	cfg := ContainerConfig{
		Image: st.Image, Name: st.Name, Hostname: st.Hostname, Network: st.Network,
		Aliases: st.Aliases, Ports: st.Ports, Resources: st.Resources,
		Labels: maps.Clone(st.Labels), AutoRemove: st.AutoRemove, Detach: st.Detached,
	}
	if st.Config != nil { // only what was set since (Update of an old container)
		cfg.RestartPolicy = st.Config.RestartPolicy
		cfg.Extensions = maps.Clone(st.Config.Extensions)
	}
	return cfg
}

// Console returns the master of the container's pseudo-terminal (ContainerConfig.Tty),
// in the process that created a foreground container; nil otherwise.
func (c *Container) Console() *os.File {
	if c.proc == nil {
		return nil
	}
	return c.proc.Console()
}

// Resize sets the size of the container's terminal (on SIGWINCH): the one this
// process holds, or a detached container's (through its attach socket).
func (c *Container) Resize(rows, cols uint16) error {
	if c.proc == nil && c.st.Detached {
		return c.resizeDetached(rows, cols)
	}
	if c.proc == nil || c.proc.Console() == nil {
		return fmt.Errorf("resize container %s: %w: no terminal held by this process", shortID(c.id), ErrInvalidState)
	}
	return c.proc.Resize(rows, cols)
}

// Name returns the container's name.
func (c *Container) Name() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.Name
}

// State returns a copy of the container's current state, read again from disk when
// another process may have changed it.
func (c *Container) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refresh()
	return *c.st
}

// refresh re-reads the persisted state (c.mu held) and notices a container whose
// process ended while no process of the engine watched it.
func (c *Container) refresh() {
	st, err := c.e.ctrs.load(c.id)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			c.removed = true // deleted meanwhile, by this or another process
		}
		return
	}
	c.st = st
	// A container whose reaper (monitor or creating process) died with it cannot
	// record its exit: show it as exited, code 255, as Docker shows a lost container.
	if c.proc == nil && lost(st) {
		// The reaper may have recorded the exit just before it ended: read again.
		if again, err := c.e.ctrs.load(st.ID); err == nil && again.Status == StatusExited {
			c.st = again
			return
		}
		c.st.Status = StatusExited
		c.st.ExitCode = 255
		c.st.Pid = 0
	}
}

// gone reports whether no process has this pid, not even a zombie. A reaper (monitor)
// is judged so: while it execve's itself (the waiting monitor), its leader thread
// shows as a zombie for a moment although it lives on.
func gone(pid int) bool { return syscall.Kill(pid, 0) == syscall.ESRCH }

// alive reports whether a process with this pid exists (and is not a zombie).
func alive(pid int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	if i := strings.LastIndexByte(string(b), ')'); i > 0 && i+2 < len(b) {
		return b[i+2] != 'Z'
	}
	return true
}

// Start releases the container's process to run its command. Any process on the
// engine root may start a created container. An exited container starts again (docker
// start): a new init runs its command on the same root filesystem, under a monitor.
func (c *Container) Start(ctx context.Context) error {
	return c.start(ctx, false)
}

// start is Start by a client, or by the monitor's restart policy (byPolicy), which
// runs an exited container again only while the restart it marked is pending and
// keeps the count of restarts.
func (c *Container) start(ctx context.Context, byPolicy bool) error {
	unlockOp, err := c.e.lockOp(c.id)
	if err != nil {
		return fmt.Errorf("start container %s: %w", shortID(c.id), err)
	}
	defer unlockOp()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refresh()
	if c.removed {
		return fmt.Errorf("start container %s: %w", shortID(c.id), ErrNotFound)
	}
	if byPolicy && (c.st.Status != StatusExited || !c.st.Restarting || c.st.ManuallyStopped) {
		return fmt.Errorf("start container %s: %w", shortID(c.id), errStale)
	}
	if c.st.Status == StatusExited {
		return c.restartLocked(ctx, byPolicy)
	}
	if c.st.Status != StatusCreated {
		return &StateError{ID: c.id, Op: "start", From: c.st.Status, Want: string(StatusCreated) + " or " + string(StatusExited)}
	}
	proc := c.proc
	if proc == nil {
		proc = namespace.Load(c.st.Pid, c.e.ctrs.path(c.id))
	}
	if err := c.e.publishPorts(ctx, c.st); err != nil { // Docker takes the ports at start
		return fmt.Errorf("start container %s: %w", shortID(c.id), err)
	}
	released := time.Now().UTC()
	if err := proc.Start(); err != nil && !endedBeforeStart(err, proc.Pid) {
		return fmt.Errorf("start container %s: %w", shortID(c.id), err)
	}
	st, err := c.e.ctrs.markStarted(c.id, released)
	if err == nil {
		c.st = st
	}
	return err
}

// endedBeforeStart reports whether Start found the container's init (pid) gone
// already: exited (a zombie) or reaped by its reaper, which records (or recorded) the
// exit. The
// container then ran and ended at once, as a command that exits at once does; its
// reaper's record of the exit is what Wait reports, so it is no error of Start.
func endedBeforeStart(err error, pid int) bool {
	return errors.Is(err, namespace.ErrExited) || errors.Is(err, syscall.ESRCH) ||
		errors.Is(err, fs.ErrNotExist) && !alive(pid) // its reaper removed the exec fifo
}

// WaitOption changes what Wait waits for (docker wait --condition).
type WaitOption func(*waitOptions)

type waitOptions struct{ nextExit, removed bool }

// UntilNextExit makes Wait of a container that exited already wait for the end of
// its next run (docker wait --condition next-exit; docker start -a waits so).
func UntilNextExit() WaitOption { return func(o *waitOptions) { o.nextExit = true } }

// UntilRemoved makes Wait return only once the container is also removed, by its
// monitor (ContainerConfig.AutoRemove) or a Delete (docker wait --condition removed;
// docker run --rm waits so). The exit status is that of the run that ended before.
func UntilRemoved() WaitOption { return func(o *waitOptions) { o.removed = true } }

// Wait blocks until the container's process exits and returns its exit status; for
// a container that exited already, that exit's. It may be called many times and from
// many goroutines. A ctx that ends stops the waiting, not the container.
//
// While it waits, Wait holds the container (see Hold): the monitor of an AutoRemove
// container records the exit and lets every waiter read it before it removes the
// container. A container removed before its exit was seen is ErrNotFound. To be sure
// to see the exit of a container that may end at once, use Await before Start.
func (c *Container) Wait(ctx context.Context, opts ...WaitOption) (ExitStatus, error) {
	ch, err := c.Await(ctx, opts...)
	if err != nil {
		return ExitStatus{}, err
	}
	r := <-ch
	return r.ExitStatus, r.Err
}

// WaitResult is what Await delivers: the exit status, or why it is not known.
type WaitResult struct {
	ExitStatus
	Err error
}

// Await is Wait in two steps, as containerd's Task.Wait: it returns once the waiter
// holds the container and has read its state, and the channel then delivers the
// result of the wait (once; ctx ending delivers ctx.Err()). A client that starts the
// container after Await returns sees its exit however fast it comes — docker run
// waits so before it starts the container.
func (c *Container) Await(ctx context.Context, opts ...WaitOption) (<-chan WaitResult, error) {
	var o waitOptions
	for _, opt := range opts {
		opt(&o)
	}
	ch := make(chan WaitResult, 1)
	if c.proc != nil {
		c.waitOnce.Do(func() { go c.reap() }) // the state shows the exit once reaped
	}
	if c.proc != nil && !o.nextExit && !o.removed {
		go func() {
			select {
			case <-ctx.Done():
				ch <- WaitResult{Err: ctx.Err()}
			case <-c.waitDone:
				ch <- WaitResult{ExitStatus: c.exit, Err: c.waitErr}
			}
		}()
		return ch, nil
	}
	wait, err := c.watchState(o)
	if err != nil {
		return nil, err
	}
	go func() {
		st, err := wait(ctx)
		ch <- WaitResult{ExitStatus: st, Err: err}
	}()
	return ch, nil
}

// Hold delays the automatic removal of the container (ContainerConfig.AutoRemove)
// until release is called, so that a client that must see the end of its log or its
// exit status takes the hold before it lets the container start, and releases it
// once it has read them. The monitor of an exited container waits for holders at
// most RemovalGrace; Delete does not wait. Wait and LogEntries with Follow hold the
// container while they run. Hold of a removed container is ErrNotFound.
func (c *Container) Hold() (release func(), err error) {
	l, err := c.e.ctrs.hold(c.id)
	if err != nil {
		return nil, fmt.Errorf("hold container %s: %w", shortID(c.id), err)
	}
	return l.Unlock, nil
}

// RemovalGrace is how long the monitor of an exited AutoRemove container waits for
// the clients that hold it (Container.Hold) before it removes the container.
const RemovalGrace = 5 * time.Second

// watchState starts a wait for the container through its persisted state (for a
// container another process reaps, and for the conditions the reaper cannot tell):
// it holds the container and notes the run it is at, and returns the rest of the
// wait.
func (c *Container) watchState(o waitOptions) (func(context.Context) (ExitStatus, error), error) {
	hold, err := c.e.ctrs.hold(c.id)
	if err != nil {
		return nil, fmt.Errorf("wait for container %s: %w", shortID(c.id), err)
	}
	current := func() (*State, bool) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.refresh()
		st := *c.st
		return &st, c.removed
	}
	var after time.Time // an exit recorded at or before it is the previous run's
	if o.nextExit {
		if st, removed := current(); !removed && st.Status == StatusExited {
			after = st.Finished
			if after.IsZero() {
				after = time.Now() // a lost container: any exit recorded from now
			}
		}
	}
	return func(ctx context.Context) (ExitStatus, error) {
		defer hold.Unlock()
		st, err := c.e.ctrs.waitExited(ctx, c.id, after, current)
		if err != nil {
			return ExitStatus{}, err
		}
		exit := ExitStatus{Code: st.ExitCode, OOMKilled: st.OOMKilled}
		if !o.removed {
			return exit, nil
		}
		hold.Unlock() // the monitor removes it once no one holds it
		if err := c.e.ctrs.waitRemoved(ctx, c.id); err != nil {
			return ExitStatus{}, err
		}
		return exit, nil
	}, nil
}

// reap waits for the container's init and records its exit.
func (c *Container) reap() {
	defer close(c.waitDone)
	ws, err := c.proc.Wait()
	if err != nil {
		c.waitErr = fmt.Errorf("wait for container %s: %w", shortID(c.id), err)
		return
	}
	c.exit = ExitStatus{Code: ws.Code}
	if c.cg != nil {
		if oom, err := c.cg.OOMKilled(); err == nil {
			c.exit.OOMKilled = oom
		}
	}
	// A container on the none or host network has no endpoint (ConnectWith refuses
	// them): nothing to release, and no need of the networks' lock.
	if net := c.State().Network; net != NetworkNone && net != NetworkHost {
		releasePorts(context.Background(), c.e.net, c.e.log, c.id)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st, err := c.e.ctrs.update(c.id, func(st *State) error {
		st.Status = StatusExited
		st.ExitCode = c.exit.Code
		st.OOMKilled = c.exit.OOMKilled
		st.Finished = time.Now().UTC()
		st.Pid = 0
		return nil
	})
	if err != nil {
		c.waitErr = err
		return
	}
	c.st = st
}

// DeleteOption changes how Delete treats a container that is still alive.
type DeleteOption func(*deleteOptions)

type deleteOptions struct{ force, volumes bool }

// WithForce makes Delete kill a running container first (docker rm -f).
func WithForce() DeleteOption { return func(o *deleteOptions) { o.force = true } }

// WithVolumes makes Delete also remove the container's anonymous volumes (docker rm
// -v; docker run --rm does it too). Named volumes stay.
func WithVolumes() DeleteOption { return func(o *deleteOptions) { o.volumes = true } }

// Delete removes the container: it unmounts its root filesystem, removes its cgroup and
// its directory. A running container is refused unless WithForce is given; a created
// one is killed.
func (c *Container) Delete(ctx context.Context, opts ...DeleteOption) error {
	var o deleteOptions
	for _, opt := range opts {
		opt(&o)
	}
	unlockOp, err := c.e.lockOp(c.id)
	if err != nil {
		return fmt.Errorf("remove container %s: %w", shortID(c.id), err)
	}
	defer unlockOp()
	c.mu.Lock()
	c.refresh()
	status, removed := c.st.Status, c.removed
	c.mu.Unlock()
	if removed {
		return fmt.Errorf("remove container %s: %w", shortID(c.id), ErrNotFound)
	}
	if (status == StatusRunning || status == StatusPaused) && !o.force {
		return &StateError{ID: c.id, Op: "remove", From: status, Want: "exited or created (or use force)"}
	}
	if status != StatusExited {
		if c.cg != nil {
			if err := c.cg.Kill(); err != nil {
				return fmt.Errorf("remove container %s: %w", shortID(c.id), err)
			}
		} else if c.st.Pid > 0 {
			syscall.Kill(c.st.Pid, syscall.SIGKILL)
		}
		if c.proc != nil {
			c.Wait(context.WithoutCancel(ctx))
		}
	}
	c.mu.Lock()
	st := *c.st
	c.mu.Unlock()
	return c.e.remover().remove(ctx, &st, c.cg, o.volumes)
}

// Run creates a container, starts it, waits for it and, with cfg.AutoRemove, deletes
// it: `docker run` as one call. When ctx ends first the container is killed.
func (e *Engine) Run(ctx context.Context, cfg ContainerConfig) (ExitStatus, error) {
	c, err := e.Create(ctx, cfg)
	if err != nil {
		return ExitStatus{}, err
	}
	if cfg.AutoRemove {
		defer func() {
			held := e.ctrs.awaitHolders(c.id, RemovalGrace) // as the monitor does
			c.Delete(context.WithoutCancel(ctx), WithForce(), WithVolumes())
			held.Unlock()
		}()
	}
	if err := c.Start(ctx); err != nil {
		return ExitStatus{}, err
	}
	st, err := c.Wait(ctx)
	if ctx.Err() != nil {
		c.killAll(context.WithoutCancel(ctx))
		return ExitStatus{}, ctx.Err()
	}
	return st, err
}

// isRemoved reports whether the container's state was found deleted.
func (c *Container) isRemoved() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.removed
}
