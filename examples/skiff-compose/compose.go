package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/compose"
)

// composeFlags are docker compose's global flags.
type composeFlags struct {
	g    *globalFlags
	load compose.LoadOptions
}

// project loads the Compose files and binds them to the engine.
func (f *composeFlags) project(cmd *cobra.Command) (*compose.Project, error) {
	e, err := f.g.engine()
	if err != nil {
		return nil, err
	}
	p, err := compose.Load(cmd.Context(), f.load)
	if err != nil {
		return nil, err
	}
	return compose.New(e, p, compose.WithProgress(func(ev compose.Event) {
		fmt.Fprintf(os.Stderr, " ✔ %s %s  %s\n", ev.Kind, ev.Name, ev.Status)
	})), nil
}

// newComposeCommand parses docker compose's global flags (-f, -p, ...) itself, before
// the subcommand's name, as docker compose does: they would clash with the
// subcommands' own (logs -f) as cobra persistent flags.
func newComposeCommand(g *globalFlags) *cobra.Command {
	f := &composeFlags{g: g}
	sub := &cobra.Command{
		Use:           "compose [OPTIONS] COMMAND",
		Short:         "Define and run multi-container applications (Compose files)",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	sub.CompletionOptions.DisableDefaultCmd = true
	sub.AddCommand(newComposeUp(f), newComposeDown(f), newComposePs(f), newComposeLogs(f),
		newComposeExec(f), newComposeConfig(f), newComposeStop(f), newComposeStart(f), newComposeRestart(f))
	fl := pflag.NewFlagSet("compose", pflag.ContinueOnError)
	fl.SetInterspersed(false)
	fl.StringArrayVarP(&f.load.Files, "file", "f", nil, "Compose configuration files")
	fl.StringVarP(&f.load.ProjectName, "project-name", "p", "", "project name")
	fl.StringVar(&f.load.WorkingDir, "project-directory", "", "alternate working directory (default: the first file's directory)")
	fl.StringArrayVar(&f.load.EnvFiles, "env-file", nil, "alternate environment files")
	fl.StringArrayVar(&f.load.Profiles, "profile", nil, "profiles to enable")
	sub.Flags().AddFlagSet(fl) // for the help text only
	return &cobra.Command{
		Use:                sub.Use,
		Short:              sub.Short,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			fl.AddFlagSet(cmd.InheritedFlags()) // --root and the others: not parsed for us
			if err := fl.Parse(args); errors.Is(err, pflag.ErrHelp) {
				return sub.Help()
			} else if err != nil {
				return err
			}
			sub.SetArgs(fl.Args())
			if fl.NArg() == 0 {
				sub.SetArgs([]string{"--help"})
			}
			return sub.ExecuteContext(cmd.Context())
		},
	}
}

func newComposeUp(f *composeFlags) *cobra.Command {
	var opts compose.UpOptions
	var detach bool
	var scale []string
	cmd := &cobra.Command{
		Use:   "up [OPTIONS] [SERVICE...]",
		Short: "Create and start containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Services = args
			opts.Scale = map[string]int{}
			for _, s := range scale {
				name, n, ok := strings.Cut(s, "=")
				v, err := strconv.Atoi(n)
				if !ok || err != nil || v < 0 {
					return flagError("--scale", s, fmt.Errorf("want SERVICE=NUM"))
				}
				opts.Scale[name] = v
			}
			p, err := f.project(cmd)
			if err != nil {
				return err
			}
			if err := p.Up(cmd.Context(), opts); err != nil || detach {
				return err
			}
			// Attached: follow the logs until ^C, then stop the containers.
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			err = p.Logs(ctx, os.Stdout, compose.LogsOptions{Services: args, Log: skiff.LogOptions{Follow: true, Tail: -1}})
			if ctx.Err() == nil {
				return err
			}
			return p.Stop(context.WithoutCancel(cmd.Context()), nil, args...)
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&detach, "detach", "d", false, "run containers in the background")
	fl.BoolVar(&opts.Build, "build", false, "build images before starting containers")
	fl.StringArrayVar(&scale, "scale", nil, "scale SERVICE to NUM instances (SERVICE=NUM)")
	return cmd
}

func newComposeDown(f *composeFlags) *cobra.Command {
	var opts compose.DownOptions
	var timeout int
	cmd := &cobra.Command{
		Use:   "down [OPTIONS]",
		Short: "Stop and remove containers and networks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("timeout") {
				d := time.Duration(timeout) * time.Second
				opts.Timeout = &d
			}
			p, err := f.project(cmd)
			if err != nil {
				return err
			}
			return p.Down(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Volumes, "volumes", "v", false, "remove named volumes and anonymous volumes of containers")
	cmd.Flags().IntVarP(&timeout, "timeout", "t", 10, "shutdown timeout in seconds")
	return cmd
}

func newComposeStop(f *composeFlags) *cobra.Command {
	var timeout int
	cmd := &cobra.Command{
		Use:   "stop [OPTIONS] [SERVICE...]",
		Short: "Stop services",
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := f.project(cmd)
			if err != nil {
				return err
			}
			return p.Stop(cmd.Context(), timeoutFlag(cmd, timeout), args...)
		},
	}
	cmd.Flags().IntVarP(&timeout, "timeout", "t", 10, "shutdown timeout in seconds")
	return cmd
}

// timeoutFlag is -t as given, or nil (each container's own stop timeout) when absent.
func timeoutFlag(cmd *cobra.Command, seconds int) *time.Duration {
	if !cmd.Flags().Changed("timeout") {
		return nil
	}
	d := time.Duration(seconds) * time.Second
	return &d
}

func newComposeStart(f *composeFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "start [SERVICE...]",
		Short: "Start services",
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := f.project(cmd)
			if err != nil {
				return err
			}
			return p.Start(cmd.Context(), args...)
		},
	}
}

func newComposeRestart(f *composeFlags) *cobra.Command {
	var timeout int
	cmd := &cobra.Command{
		Use:   "restart [OPTIONS] [SERVICE...]",
		Short: "Restart service containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := f.project(cmd)
			if err != nil {
				return err
			}
			return p.Restart(cmd.Context(), timeoutFlag(cmd, timeout), args...)
		},
	}
	cmd.Flags().IntVarP(&timeout, "timeout", "t", 10, "shutdown timeout in seconds")
	return cmd
}

func newComposePs(f *composeFlags) *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "ps [OPTIONS] [SERVICE...]",
		Short: "List containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := f.project(cmd)
			if err != nil {
				return err
			}
			cs, err := p.Containers(cmd.Context(), args...)
			if err != nil {
				return err
			}
			if quiet {
				for _, c := range cs {
					fmt.Println(c.Container.ID())
				}
				return nil
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 8, 3, ' ', 0)
			fmt.Fprintln(w, "NAME\tIMAGE\tSERVICE\tSTATUS\tPORTS")
			for _, c := range cs {
				var ports []string
				for _, pm := range c.Ports {
					ip := "0.0.0.0"
					if pm.HostIP.IsValid() {
						ip = pm.HostIP.String()
					}
					ports = append(ports, fmt.Sprintf("%s:%d->%d/%s", ip, pm.HostPort, pm.ContainerPort, cmp(pm.Proto, "tcp")))
				}
				status := string(c.State.Status)
				if c.State.Status == skiff.StatusExited {
					status = fmt.Sprintf("exited (%d)", c.State.ExitCode)
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", c.Name, c.State.Image, c.Service, status, strings.Join(ports, ", "))
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "only display IDs")
	return cmd
}

func cmp(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func newComposeLogs(f *composeFlags) *cobra.Command {
	var opts compose.LogsOptions
	var tail string
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] [SERVICE...]",
		Short: "View output from containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Services = args
			opts.Log.Tail = -1
			if tail != "all" {
				n, err := strconv.Atoi(tail)
				if err != nil {
					return flagError("--tail", tail, err)
				}
				opts.Log.Tail = n
			}
			p, err := f.project(cmd)
			if err != nil {
				return err
			}
			return p.Logs(cmd.Context(), os.Stdout, opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&opts.Log.Follow, "follow", "f", false, "follow log output")
	fl.BoolVarP(&opts.Log.Timestamps, "timestamps", "t", false, "show timestamps")
	fl.BoolVar(&opts.NoPrefix, "no-log-prefix", false, "don't print prefix in logs")
	fl.StringVarP(&tail, "tail", "n", "all", "number of lines to show from the end of the logs")
	return cmd
}

func newComposeExec(f *composeFlags) *cobra.Command {
	var noTTY bool
	var index int
	var env []string
	var cfg skiff.ExecConfig
	cmd := &cobra.Command{
		Use:   "exec [OPTIONS] SERVICE COMMAND [ARGS...]",
		Short: "Execute a command in a running service container",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := f.project(cmd)
			if err != nil {
				return err
			}
			cfg.Cmd, cfg.Env = args[1:], hostEnv(env)
			cfg.Stdin, cfg.Stdout, cfg.Stderr = os.Stdin, os.Stdout, os.Stderr
			code, err := p.Exec(cmd.Context(), args[0], index, cfg)
			if err != nil {
				return execError(cmd, err)
			}
			if code != 0 {
				return exitError{code}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.SetInterspersed(false)
	fl.BoolVarP(&noTTY, "no-TTY", "T", false, "disable pseudo-TTY allocation (no TTY is allocated yet)")
	fl.IntVar(&index, "index", 1, "index of the container if the service has multiple replicas")
	fl.StringArrayVarP(&env, "env", "e", nil, "set environment variables")
	fl.StringVarP(&cfg.User, "user", "u", "", "run the command as this user")
	fl.StringVarP(&cfg.WorkingDir, "workdir", "w", "", "path to workdir directory for this command")
	return cmd
}

func newComposeConfig(f *composeFlags) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "config [OPTIONS]",
		Short: "Parse, resolve and render the Compose file in canonical format",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := compose.Load(cmd.Context(), f.load)
			if err != nil {
				return err
			}
			var out []byte
			switch format {
			case "yaml":
				out, err = p.MarshalYAML()
			case "json":
				out, err = p.MarshalJSON()
			default:
				return flagError("--format", format, fmt.Errorf("want yaml or json"))
			}
			if err != nil {
				return err
			}
			_, err = os.Stdout.Write(out)
			return err
		},
	}
	cmd.Flags().StringVar(&format, "format", "yaml", "format the output: yaml or json")
	return cmd
}
