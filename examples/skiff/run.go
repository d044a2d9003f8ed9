package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/examples/internal/dockeropts"
	"github.com/skiffrt/skiff/registry"
)

// containerFlags are the flags that describe a container (shared by run and create).
type containerFlags struct {
	name, hostname, user, workdir, memory, memorySwap, network string
	entrypoint, restart                                        string
	env, envFiles, publish, volumes, mounts, tmpfs, aliases    []string
	capAdd, capDrop, securityOpts, ulimits, labels             []string
	cpus                                                       string
	pidsLimit                                                  int64
	readOnly, interactive, tty, init, privileged               bool
	health                                                     dockeropts.HealthFlags
	stopSignal                                                 string
	links                                                      []string
	stopTimeout                                                int
	shmSize                                                    string
	sysctls, groupAdd, labelFiles                              []string
	addHosts, dns, dnsSearch, dnsOptions                       []string
	cpuShares                                                  int64
	expose                                                     []string
	publishAll, quiet                                          bool
	pull, cidfile                                              string
	changed                                                    func(name string) bool // a flag given, not defaulted
}

func (f *containerFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.SetInterspersed(false) // flags after IMAGE belong to the container's command
	fl.StringVar(&f.name, "name", "", "assign a name to the container")
	fl.StringVarP(&f.hostname, "hostname", "h", "", "container host name")
	fl.StringVarP(&f.user, "user", "u", "", "username or UID (format: <name|uid>[:<group|gid>])")
	fl.StringVarP(&f.workdir, "workdir", "w", "", "working directory inside the container")
	fl.StringVarP(&f.memory, "memory", "m", "", "memory limit (bytes, or with unit: 128m, 1g)")
	fl.StringVar(&f.memorySwap, "memory-swap", "", "swap limit equal to memory plus swap: '-1' to enable unlimited swap")
	fl.StringVar(&f.entrypoint, "entrypoint", "", "overwrite the default ENTRYPOINT of the image")
	fl.StringVar(&f.restart, "restart", "no", "restart policy when the container exits (no, always, unless-stopped, on-failure[:N]); detached containers only")
	fl.StringArrayVarP(&f.env, "env", "e", nil, "set environment variables (KEY=VALUE, or KEY to pass the host's)")
	fl.StringArrayVar(&f.envFiles, "env-file", nil, "read in a file of environment variables")
	fl.StringArrayVarP(&f.publish, "publish", "p", nil, "publish a container's port(s) to the host ([ip:][hostPort:]containerPort[/proto])")
	fl.StringArrayVarP(&f.volumes, "volume", "v", nil, "bind mount a volume ([host-path|name:]container-path[:ro|rw|propagation])")
	fl.StringArrayVar(&f.mounts, "mount", nil, "attach a filesystem mount to the container (type=bind|volume|tmpfs,...)")
	fl.StringArrayVar(&f.tmpfs, "tmpfs", nil, "mount a tmpfs directory (/path[:size=64m,mode=1777])")
	fl.StringVar(&f.network, "network", "", "connect a container to a network (bridge, none, host or a network name)")
	fl.StringArrayVar(&f.aliases, "network-alias", nil, "add network-scoped alias for the container")
	fl.Int64Var(&f.pidsLimit, "pids-limit", 0, "tune container pids limit")
	fl.StringVar(&f.cpus, "cpus", "", "number of CPUs (CFS quota)")
	fl.BoolVar(&f.readOnly, "read-only", false, "mount the container's root filesystem as read only")
	fl.BoolVarP(&f.interactive, "interactive", "i", false, "keep STDIN open")
	fl.BoolVarP(&f.tty, "tty", "t", false, "allocate a pseudo-TTY")
	fl.BoolVar(&f.init, "init", false, "run an init inside the container that forwards signals and reaps processes")
	fl.BoolVar(&f.privileged, "privileged", false, "give extended privileges to this container")
	fl.StringArrayVar(&f.capAdd, "cap-add", nil, "add Linux capabilities")
	fl.StringArrayVar(&f.capDrop, "cap-drop", nil, "drop Linux capabilities")
	fl.StringArrayVar(&f.securityOpts, "security-opt", nil, "security options (no-new-privileges)")
	fl.StringArrayVar(&f.ulimits, "ulimit", nil, "ulimit options (nofile=1024:1024)")
	fl.StringArrayVarP(&f.labels, "label", "l", nil, "set meta data on a container (key=value)")
	fl.StringVar(&f.health.Cmd, "health-cmd", "", "command to run to check health")
	fl.DurationVar(&f.health.Interval, "health-interval", 0, "time between running the check (ms|s|m|h) (default 0s)")
	fl.DurationVar(&f.health.Timeout, "health-timeout", 0, "maximum time to allow one check to run (ms|s|m|h) (default 0s)")
	fl.DurationVar(&f.health.StartPeriod, "health-start-period", 0, "start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)")
	fl.DurationVar(&f.health.StartInterval, "health-start-interval", 0, "time between running the check during the start period (ms|s|m|h) (default 0s)")
	fl.IntVar(&f.health.Retries, "health-retries", 0, "consecutive failures needed to report unhealthy")
	fl.BoolVar(&f.health.None, "no-healthcheck", false, "disable any container-specified HEALTHCHECK")
	fl.StringArrayVar(&f.links, "link", nil, "add link to another container (name[:alias])")
	fl.StringVar(&f.stopSignal, "stop-signal", "", "signal to stop the container (default: the image's STOPSIGNAL, else SIGTERM)")
	fl.IntVar(&f.stopTimeout, "stop-timeout", 0, "timeout (in seconds) to stop a container (default 10; -1: no limit)")
	fl.StringVar(&f.shmSize, "shm-size", "", "size of /dev/shm (bytes, or with unit: 128m; default 64m)")
	fl.StringArrayVar(&f.sysctls, "sysctl", nil, "sysctl options (net.ipv4.ip_forward=1; namespaced ones only)")
	fl.StringArrayVar(&f.groupAdd, "group-add", nil, "add additional groups to join")
	fl.StringArrayVar(&f.labelFiles, "label-file", nil, "read in a line delimited file of labels")
	fl.Int64VarP(&f.cpuShares, "cpu-shares", "c", 0, "CPU shares (relative weight)")
	fl.StringArrayVar(&f.addHosts, "add-host", nil, "add a custom host-to-IP mapping (host:ip; ip host-gateway: the host)")
	fl.StringArrayVar(&f.dns, "dns", nil, "set custom DNS servers")
	fl.StringArrayVar(&f.dnsSearch, "dns-search", nil, "set custom DNS search domains")
	fl.StringArrayVar(&f.dnsOptions, "dns-option", nil, "set DNS options")
	fl.StringArrayVar(&f.expose, "expose", nil, "expose a port or a range of ports (published with -P)")
	fl.BoolVarP(&f.publishAll, "publish-all", "P", false, "publish all exposed ports to random ports")
	fl.StringVar(&f.pull, "pull", "missing", `pull image before running ("always", "missing", "never")`)
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "suppress the pull output")
	fl.StringVar(&f.cidfile, "cidfile", "", "write the container ID to the file")
	fl.Bool("help", false, "help for "+cmd.Name())
	f.changed = fl.Changed
}

// parseResources turns docker's resource flags (run, create, update) into limits;
// empty strings and zeros leave a limit unset.
func parseResources(memory, memorySwap, cpus string, pidsLimit, cpuShares int64) (skiff.Resources, error) {
	var r skiff.Resources
	var err error
	if memory != "" {
		if r.MemoryLimit, err = dockeropts.ParseMemory(memory); err != nil {
			return r, flagError("--memory", memory, err)
		}
	}
	if memorySwap != "" {
		if r.MemorySwap, err = dockeropts.ParseMemorySwap(memorySwap, r.MemoryLimit); err != nil {
			return r, err
		}
	}
	if cpus != "" {
		nano, err := dockeropts.ParseCPUs(cpus)
		if err != nil {
			return r, flagError("--cpus", cpus, err)
		}
		r.CPUQuota, r.CPUPeriod = dockeropts.CPUQuota(nano)
	}
	if cpuShares < 0 {
		return r, flagError("--cpu-shares", strconv.FormatInt(cpuShares, 10), fmt.Errorf("must not be negative"))
	}
	r.PidsLimit, r.CPUShares = pidsLimit, uint64(cpuShares)
	return r, nil
}

// flagError is a malformed flag value: a bad command line, exit status 125 as docker's.
func flagError(flag, val string, err error) error {
	return usageError{fmt.Errorf("invalid argument %q for %q flag: %w", val, flag, err)}
}

// config turns the flags and the positional IMAGE [CMD...] into a ContainerConfig.
func (f *containerFlags) config(args []string) (skiff.ContainerConfig, error) {
	cfg := skiff.ContainerConfig{
		Image:           args[0],
		Cmd:             args[1:],
		Name:            f.name,
		Hostname:        f.hostname,
		User:            f.user,
		WorkingDir:      f.workdir,
		ReadonlyRootfs:  f.readOnly,
		Network:         f.network,
		Aliases:         f.aliases,
		Tty:             f.tty,
		Init:            f.init,
		Privileged:      f.privileged,
		CapAdd:          f.capAdd,
		CapDrop:         f.capDrop,
		Stdout:          os.Stdout,
		Stderr:          os.Stderr,
		NoNewPrivileges: false,
	}
	if f.entrypoint != "" {
		cfg.Entrypoint = []string{f.entrypoint}
	}
	cfg.StopSignal = f.stopSignal
	for _, l := range f.links {
		link, err := skiff.ParseLink(l)
		if err != nil {
			return cfg, err
		}
		cfg.Links = append(cfg.Links, link)
	}
	if f.changed != nil && f.changed("stop-timeout") {
		d := time.Duration(f.stopTimeout) * time.Second
		cfg.StopTimeout = &d
	}
	for _, file := range f.envFiles {
		lines, err := dockeropts.ReadEnvFile(file)
		if err != nil {
			return cfg, err
		}
		cfg.Env = append(cfg.Env, lines...)
	}
	cfg.Env = append(cfg.Env, hostEnv(f.env)...)
	var err error
	if cfg.Resources, err = parseResources(f.memory, f.memorySwap, f.cpus, f.pidsLimit, f.cpuShares); err != nil {
		return cfg, err
	}
	for _, p := range f.publish {
		pms, err := dockeropts.ParsePublish(p)
		if err != nil {
			return cfg, err
		}
		cfg.Ports = append(cfg.Ports, pms...)
	}
	for _, v := range f.volumes {
		m, err := dockeropts.ParseVolume(v)
		if err != nil {
			return cfg, err
		}
		if err := dockeropts.CreateBindSource(m); err != nil {
			return cfg, err
		}
		cfg.Mounts = append(cfg.Mounts, m)
	}
	for _, v := range f.mounts {
		m, err := dockeropts.ParseMount(v)
		if err != nil {
			return cfg, err
		}
		if err := dockeropts.CheckBindSource(m); err != nil {
			return cfg, err
		}
		cfg.Mounts = append(cfg.Mounts, m)
	}
	for _, v := range f.tmpfs {
		m, err := dockeropts.ParseTmpfs(v)
		if err != nil {
			return cfg, err
		}
		cfg.Mounts = append(cfg.Mounts, m)
	}
	if cfg.NoNewPrivileges, err = dockeropts.ParseSecurityOpt(f.securityOpts); err != nil {
		return cfg, err
	}
	for _, u := range f.ulimits {
		rl, err := dockeropts.ParseUlimit(u)
		if err != nil {
			return cfg, flagError("--ulimit", u, err)
		}
		cfg.Ulimits = append(cfg.Ulimits, rl)
	}
	labels := f.labels
	for _, path := range f.labelFiles {
		lines, err := dockeropts.ReadLabelFile(path)
		if err != nil {
			return cfg, err
		}
		labels = append(lines, labels...) // --label wins over --label-file
	}
	cfg.Labels = dockeropts.ParseLabels(labels)
	if f.shmSize != "" {
		n, err := units.RAMInBytes(f.shmSize)
		if err != nil || n <= 0 {
			return cfg, flagError("--shm-size", f.shmSize, fmt.Errorf("invalid size"))
		}
		cfg.ShmSize = n
	}
	for _, kv := range f.sysctls {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return cfg, flagError("--sysctl", kv, fmt.Errorf("sysctl must be KEY=VALUE"))
		}
		if cfg.Sysctls == nil {
			cfg.Sysctls = map[string]string{}
		}
		cfg.Sysctls[k] = v
	}
	cfg.GroupAdd = f.groupAdd
	cfg.ExtraHosts, cfg.DNS, cfg.DNSSearch, cfg.DNSOptions = f.addHosts, f.dns, f.dnsSearch, f.dnsOptions
	if f.pull != "always" && f.pull != "missing" && f.pull != "never" {
		return cfg, flagError("--pull", f.pull, fmt.Errorf(`must be "always", "missing" or "never"`))
	}
	if _, err := dockeropts.PublishAll(nil, f.expose); err != nil {
		return cfg, flagError("--expose", strings.Join(f.expose, ","), err)
	}
	policy, err := dockeropts.ParseRestartPolicy(f.restart)
	if err != nil {
		return cfg, err
	}
	cfg.RestartPolicy = skiff.RestartPolicy(policy)
	if cfg.Healthcheck, err = f.health.Healthcheck(); err != nil {
		return cfg, err
	}
	if f.interactive {
		cfg.Stdin = os.Stdin
	}
	return cfg, nil
}

// hostEnv completes "-e KEY" from the host's environment; docker drops it when KEY
// is not set.
func hostEnv(kvs []string) []string { return dockeropts.ExpandEnv(kvs, os.LookupEnv) }

// prepare gets cfg's image as --pull says (pulled when missing, by default, as docker
// run does) and publishes its exposed ports with -P.
func (f *containerFlags) prepare(ctx context.Context, e *skiff.Engine, cfg *skiff.ContainerConfig) error {
	img, err := e.Image(ctx, cfg.Image)
	missing := errors.Is(err, registry.ErrImageNotFound)
	if err != nil && !missing {
		return err
	}
	if missing && f.pull == "never" {
		return fmt.Errorf("No such image: %s", cfg.Image)
	}
	if f.pull == "always" || missing {
		if missing && f.pull == "missing" && !f.quiet {
			fmt.Fprintf(os.Stderr, "Unable to find image '%s' locally\n", cfg.Image)
		}
		if img, err = e.Pull(ctx, cfg.Image); err != nil {
			return err
		}
	}
	if f.publishAll {
		exposed := slices.Sorted(maps.Keys(img.Config.Config.ExposedPorts))
		if cfg.Ports, err = dockeropts.PublishAll(cfg.Ports, append(exposed, f.expose...)); err != nil {
			return err
		}
	}
	return nil
}

// createWithCIDFile creates the container, writing its ID to --cidfile when given:
// the file must not exist yet (another run may own it), and goes again when the
// create fails.
func (f *containerFlags) createWithCIDFile(ctx context.Context, e *skiff.Engine, cfg skiff.ContainerConfig) (*skiff.Container, error) {
	if f.cidfile == "" {
		return e.Create(ctx, cfg)
	}
	file, err := os.OpenFile(f.cidfile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("container ID file found, make sure the other container isn't running or delete %s", f.cidfile)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to create the container ID file: %w", err)
	}
	c, err := e.Create(ctx, cfg)
	if err == nil {
		_, err = file.WriteString(c.ID())
		if cerr := file.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			c.Delete(context.WithoutCancel(ctx), skiff.WithForce())
			err = fmt.Errorf("failed to write the container ID file: %w", err)
		}
	} else {
		file.Close()
	}
	if err != nil {
		os.Remove(f.cidfile)
		return nil, err
	}
	return c, nil
}

func init() { commands = append(commands, newRunCommand) }

func newRunCommand(g *globalFlags) *cobra.Command {
	var f containerFlags
	var rm, detach, sigProxy bool
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create and run a new container from an image",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := f.config(args)
			if err != nil {
				return err
			}
			if f.interactive && f.tty && !detach && !term.IsTerminal(int(os.Stdin.Fd())) {
				cmd.PrintErrln("the input device is not a TTY")
				return exitError{1}
			}
			cfg.AutoRemove = rm
			cfg.Detach = detach
			e, err := g.engine()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if err := f.prepare(ctx, e, &cfg); err != nil {
				return err
			}
			if detach {
				// -i keeps the stdin open, -t gives a terminal: skiff attach reaches
				// them.
				cfg.OpenStdin = f.interactive
				cfg.Stdin, cfg.Stdout, cfg.Stderr = nil, nil, nil
				c, err := f.createWithCIDFile(ctx, e, cfg)
				if err != nil {
					return err
				}
				if err := c.Start(ctx); err != nil {
					c.Delete(context.WithoutCancel(ctx), skiff.WithForce())
					if f.cidfile != "" {
						os.Remove(f.cidfile) // it named the container just removed
					}
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), c.ID())
				return nil
			}
			return runForeground(ctx, e, cfg, &f, sigProxy)
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&rm, "rm", false, "automatically remove the container and its anonymous volumes when it exits")
	cmd.Flags().BoolVarP(&detach, "detach", "d", false, "run container in background and print container ID")
	cmd.Flags().BoolVar(&sigProxy, "sig-proxy", true, "proxy received signals to the process (without a TTY)")
	return cmd
}

// runForeground runs a container attached to this process's streams (and terminal,
// with Tty) and returns its exit status as an exitError. Without a terminal, the
// signals this process gets go to the container, unless sigProxy is off.
func runForeground(ctx context.Context, e *skiff.Engine, cfg skiff.ContainerConfig, f *containerFlags, sigProxy bool) error {
	interactive := f.interactive
	c, err := f.createWithCIDFile(ctx, e, cfg)
	if err != nil {
		return err
	}
	if cfg.AutoRemove {
		defer c.Delete(context.WithoutCancel(ctx), skiff.WithForce(), skiff.WithVolumes())
	}
	if cfg.Tty {
		restore := attachTerminal(interactive, c.Resize)
		defer restore()
	} else if sigProxy {
		// Forward the signals a terminal sends to the container, as docker's sig-proxy.
		sigs := make(chan os.Signal, 4)
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
		defer signal.Stop(sigs)
		go func() {
			for s := range sigs {
				c.Kill(ctx, s.(syscall.Signal))
			}
		}()
	}
	if err := c.Start(ctx); err != nil {
		return err
	}
	return waitExit(ctx, c)
}
