// Command skiff-runc is an OCI runtime with runc's command line, built on Skiff's
// namespace and cgroup packages, so that containerd's io.containerd.runc.v2 shim (or
// anything else that drives runc) can run containers with Skiff:
//
//	skiff-runc [--root /run/skiff-runc] [--log FILE --log-format json] create --bundle DIR [--pid-file F] [--console-socket S] ID
//	skiff-runc start ID; skiff-runc state ID; skiff-runc kill [--all] ID [SIGNAL]
//	skiff-runc exec [--detach] [--pid-file F] --process process.json ID
//	skiff-runc pause|resume|ps|events|update|delete [--force] ID; skiff-runc list; skiff-runc features
//
// The state of each container lives in --root/<id>/ (state.json, and the exec fifo the
// created init blocks on until start opens it). The process that runs create exits once
// the init is ready; the init survives it (reparented to the caller's subreaper, as
// containerd's shim is). Errors go to stderr and, with --log, to that file as JSON lines
// ({"level":"error","msg":...,"time":...}) as runc writes them; the exit status is 1.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff/namespace"
)

// version is reported by --version and features.
const version = "1.2.0-skiff"

// exitError carries a process exit status out of a command without a message.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// globalFlags are runc's global flags.
type globalFlags struct {
	root          string
	logFile       string
	logFormat     string
	debug         bool
	systemdCgroup bool
	log           *slog.Logger
	logOut        io.Closer
}

// setup opens the log and refuses what is not supported.
func (g *globalFlags) setup() error {
	level := slog.LevelInfo
	if g.debug {
		level = slog.LevelDebug
	}
	var w io.Writer = os.Stderr
	if g.logFile != "" {
		f, err := os.OpenFile(g.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_SYNC, 0o644)
		if err != nil {
			return fmt.Errorf("open log %s: %w", g.logFile, err)
		}
		w, g.logOut = f, f
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: runcAttrs}
	switch g.logFormat {
	case "json":
		g.log = slog.New(slog.NewJSONHandler(w, opts))
	case "text", "":
		g.log = slog.New(slog.NewTextHandler(w, opts))
	default:
		return fmt.Errorf("invalid log-format: %s", g.logFormat)
	}
	slog.SetDefault(g.log)
	if g.systemdCgroup {
		return errors.New("systemd cgroup driver is not supported by skiff-runc (--systemd-cgroup); use cgroupfs paths")
	}
	return nil
}

// runcAttrs makes slog's records look like runc's logrus ones: lowercase levels and
// RFC 3339 times, which containerd's shim parses from the log file.
func runcAttrs(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.LevelKey:
		lv := strings.ToLower(a.Value.String())
		if lv == "warn" {
			lv = "warning"
		}
		return slog.String(slog.LevelKey, lv)
	case slog.TimeKey:
		return slog.String(slog.TimeKey, a.Value.Time().UTC().Format(time.RFC3339Nano))
	}
	return a
}

func newRootCommand(g *globalFlags) *cobra.Command {
	root := &cobra.Command{
		Use:           "skiff-runc",
		Short:         "An OCI runtime with runc's command line, over the Skiff library",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return g.setup()
		},
	}
	root.SetVersionTemplate("skiff-runc version {{.Version}}\nspec: 1.3.0\n")
	f := root.PersistentFlags()
	f.StringVar(&g.root, "root", "/run/skiff-runc", "root directory for storage of container state")
	f.StringVar(&g.logFile, "log", "", "set the log file to write runtime logs to (default stderr)")
	f.StringVar(&g.logFormat, "log-format", "text", "set the log format ('text' or 'json')")
	f.BoolVar(&g.debug, "debug", false, "enable debug logging")
	f.BoolVar(&g.systemdCgroup, "systemd-cgroup", false, "use systemd cgroups (unsupported: an error)")
	for _, c := range []*cobra.Command{
		newCreateCommand(g), newStartCommand(g), newRunCommand(g), newStateCommand(g),
		newKillCommand(g), newDeleteCommand(g), newExecCommand(g), newPsCommand(g),
		newPauseCommand(g), newResumeCommand(g), newUpdateCommand(g), newEventsCommand(g),
		newFeaturesCommand(g), newListCommand(g),
	} {
		root.AddCommand(c)
	}
	return root
}

func main() {
	namespace.Init() // a container's init or exec helper re-executes this binary
	g := &globalFlags{}
	err := newRootCommand(g).ExecuteContext(context.Background())
	if g.logOut != nil {
		defer g.logOut.Close()
	}
	var ee exitError
	switch {
	case err == nil:
		return
	case errors.As(err, &ee):
		os.Exit(ee.code)
	}
	if g.log != nil && g.logFile != "" {
		g.log.Error(err.Error())
	}
	fmt.Fprintln(os.Stderr, err)
	if g.logOut != nil {
		g.logOut.Close()
	}
	os.Exit(1)
}
