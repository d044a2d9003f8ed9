// Command skiff is a Docker-like command line over the Skiff library: the same command
// names, flags and exit codes as docker, with no daemon.
//
//	skiff [--root DIR] pull REF
//	skiff [--root DIR] run [--rm] [--name N] [-e K=V] [--memory 128m] IMAGE [CMD...]
//	skiff [--root DIR] images | ps [-a] [-q] | rm [-f] CONTAINER...
//
// Exit status, as docker's: the container's for run; for run and create 125 when the
// engine fails, 126 when the command cannot be executed, 127 when it is not found; 125
// for a bad command line; 1 when any other command fails.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/namespace"
)

// exitError carries a process exit status out of a command.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

type globalFlags struct {
	root     string
	insecure []string
	debug    bool
	cgParent string
}

func (g *globalFlags) engine() (*skiff.Engine, error) {
	level := slog.LevelWarn
	if g.debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	return skiff.New(skiff.WithRoot(g.root), skiff.WithLogger(log), skiff.WithInsecureRegistries(g.insecure...),
		skiff.WithCgroupParent(g.cgParent))
}

func newRootCommand() *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:           "skiff",
		Short:         "A daemonless container engine",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(), // --version and -v, as docker's
	}
	root.SetVersionTemplate("Skiff version {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	defRoot := os.Getenv("SKIFF_ROOT")
	if defRoot == "" {
		defRoot = defaultRoot()
	}
	root.PersistentFlags().StringVar(&g.root, "root", defRoot, "engine state root (env SKIFF_ROOT)")
	root.PersistentFlags().StringSliceVar(&g.insecure, "insecure-registry", nil, "allow plain HTTP to this registry host[:port] (localhost always is)")
	root.PersistentFlags().BoolVarP(&g.debug, "debug", "D", false, "print debug logs")
	root.PersistentFlags().StringVar(&g.cgParent, "cgroup-parent", "skiff", "cgroup under which containers' cgroups are made")
	for _, newCmd := range commands {
		root.AddCommand(newCmd(g))
	}
	refuseUnknownSubcommands(root)
	return root
}

// refuseUnknownSubcommands makes each group of commands (image, network, system, ...)
// refuse a subcommand it does not have, as docker does, instead of printing its help
// and succeeding; alone, a group prints its help.
func refuseUnknownSubcommands(c *cobra.Command) {
	for _, sub := range c.Commands() {
		refuseUnknownSubcommands(sub)
	}
	if c.HasParent() && c.HasSubCommands() && !c.Runnable() {
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return cmd.Help()
		}
	}
}

// defaultRoot is skiff.DefaultRoot for root, and $XDG_DATA_HOME/skiff (or
// ~/.local/share/skiff) for a user running skiff rootless.
func defaultRoot() string {
	if !skiff.Rootless() {
		return skiff.DefaultRoot
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "skiff")
	}
	if h := os.Getenv("HOME"); h != "" {
		return filepath.Join(h, ".local", "share", "skiff")
	}
	return skiff.DefaultRoot
}

// commands are the subcommands; each file adds its own in an init function.
var commands []func(*globalFlags) *cobra.Command

func main() {
	// A user other than root runs in a user namespace of its own (see
	// skiff.InitRootless): no cgroups, only the none and host networks.
	skiff.InitRootless()
	// Containers' inits start faster from skiff-nsinit, if it was built beside us.
	if _, err := namespace.UseInitBinaryBeside("skiff-nsinit"); err != nil {
		fmt.Fprintf(os.Stderr, "skiff: %v\n", err)
		os.Exit(125)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGPIPE)
	defer stop()
	root := newRootCommand()
	root.SetArgs(rewriteManagementCommand(os.Args[1:]))
	cmd, err := root.ExecuteContextC(ctx)
	var ee exitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		os.Exit(ee.code)
	case errors.Is(err, syscall.EPIPE):
		// The reader went away (skiff ps | head -1): end quietly with the status a
		// shell shows for a death by SIGPIPE, as a program without a handler would.
		os.Exit(128 + int(syscall.SIGPIPE))
	default:
		fmt.Fprintf(os.Stderr, "skiff: %v\n", err)
		os.Exit(exitCode(cmd, err))
	}
}

// usageError is a command line docker would refuse before doing anything (a bad flag,
// an unknown command): exit status 125.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// exitCode is docker's exit status for a command that failed with err: 125 for a bad
// command line; for run and create, 125 when the engine failed, 126 when the command
// cannot be executed, 127 when it is not found; 1 for any other command's failure.
func exitCode(cmd *cobra.Command, err error) int {
	if errors.As(err, new(usageError)) || strings.HasPrefix(err.Error(), "unknown command ") {
		return 125
	}
	if cmd != nil && cmd.HasParent() && !cmd.Parent().HasParent() && (cmd.Name() == "run" || cmd.Name() == "create") {
		return skiff.ExitCodeOf(err)
	}
	return 1
}
