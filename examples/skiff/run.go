package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/registry"
)

// containerFlags are the flags that describe a container (shared by run and create).
type containerFlags struct {
	name, hostname, user, workdir, memory, entrypoint string
	env                                               []string
	pidsLimit                                         int64
	cpus                                              float64
	readOnly, interactive                             bool
}

func (f *containerFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.SetInterspersed(false) // flags after IMAGE belong to the container's command
	fl.StringVar(&f.name, "name", "", "assign a name to the container")
	fl.StringVarP(&f.hostname, "hostname", "h", "", "container host name")
	fl.StringVarP(&f.user, "user", "u", "", "username or UID (format: <name|uid>[:<group|gid>])")
	fl.StringVarP(&f.workdir, "workdir", "w", "", "working directory inside the container")
	fl.StringVarP(&f.memory, "memory", "m", "", "memory limit (bytes, or with unit: 128m, 1g)")
	fl.StringVar(&f.entrypoint, "entrypoint", "", "overwrite the default ENTRYPOINT of the image")
	fl.StringArrayVarP(&f.env, "env", "e", nil, "set environment variables (KEY=VALUE, or KEY to pass the host's)")
	fl.Int64Var(&f.pidsLimit, "pids-limit", 0, "tune container pids limit")
	fl.Float64Var(&f.cpus, "cpus", 0, "number of CPUs (CFS quota)")
	fl.BoolVar(&f.readOnly, "read-only", false, "mount the container's root filesystem as read only")
	fl.BoolVarP(&f.interactive, "interactive", "i", false, "keep STDIN open")
	fl.Bool("help", false, "help for "+cmd.Name())
}

// config turns the flags and the positional IMAGE [CMD...] into a ContainerConfig.
func (f *containerFlags) config(args []string) (skiff.ContainerConfig, error) {
	cfg := skiff.ContainerConfig{
		Image:          args[0],
		Cmd:            args[1:],
		Name:           f.name,
		Hostname:       f.hostname,
		User:           f.user,
		WorkingDir:     f.workdir,
		ReadonlyRootfs: f.readOnly,
		Stdout:         os.Stdout,
		Stderr:         os.Stderr,
	}
	if f.entrypoint != "" {
		cfg.Entrypoint = []string{f.entrypoint}
	}
	for _, kv := range f.env {
		if _, _, ok := cutEnv(kv); !ok {
			v, set := os.LookupEnv(kv)
			if !set {
				continue // docker drops -e KEY when KEY is not set on the host
			}
			kv += "=" + v
		}
		cfg.Env = append(cfg.Env, kv)
	}
	if f.memory != "" {
		n, err := units.RAMInBytes(f.memory)
		if err != nil {
			return cfg, fmt.Errorf("invalid argument %q for \"-m, --memory\" flag: %w", f.memory, err)
		}
		cfg.Resources.MemoryLimit = n
	}
	cfg.Resources.PidsLimit = f.pidsLimit
	if f.cpus < 0 {
		return cfg, fmt.Errorf("invalid argument %v for \"--cpus\" flag: must be positive", f.cpus)
	}
	if f.cpus > 0 {
		cfg.Resources.CPUPeriod = 100000
		cfg.Resources.CPUQuota = int64(f.cpus * 100000)
	}
	if f.interactive {
		cfg.Stdin = os.Stdin
	}
	return cfg, nil
}

func cutEnv(kv string) (string, string, bool) {
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], true
		}
	}
	return kv, "", false
}

// ensureImage pulls ref when it is not in the store yet, as docker run does.
func ensureImage(ctx context.Context, e *skiff.Engine, ref string) error {
	_, err := e.Image(ctx, ref)
	if err == nil || !errors.Is(err, registry.ErrImageNotFound) {
		return err
	}
	fmt.Fprintf(os.Stderr, "Unable to find image '%s' locally\n", ref)
	_, err = e.Pull(ctx, ref)
	return err
}

func init() { commands = append(commands, newRunCommand) }

func newRunCommand(g *globalFlags) *cobra.Command {
	var f containerFlags
	var rm bool
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create and run a new container from an image",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := f.config(args)
			if err != nil {
				return err
			}
			cfg.AutoRemove = rm
			e, err := g.engine()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if err := ensureImage(ctx, e, cfg.Image); err != nil {
				return err
			}
			c, err := e.Create(ctx, cfg)
			if err != nil {
				return err
			}
			if rm {
				defer c.Delete(context.WithoutCancel(ctx), skiff.WithForce())
			}
			// Forward the signals a terminal sends to the container, as docker's sig-proxy.
			sigs := make(chan os.Signal, 4)
			signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
			defer signal.Stop(sigs)
			go func() {
				for s := range sigs {
					c.Kill(ctx, s.(syscall.Signal))
				}
			}()
			if err := c.Start(ctx); err != nil {
				return err
			}
			st, err := c.Wait(ctx)
			if err != nil {
				return err
			}
			if st.Code != 0 {
				return exitError{st.Code}
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&rm, "rm", false, "automatically remove the container when it exits")
	return cmd
}
