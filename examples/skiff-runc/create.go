package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/skiffrt/skiff/cgroup"
	"github.com/skiffrt/skiff/internal/atomicfile"
	"github.com/skiffrt/skiff/internal/lockfile"
	"github.com/skiffrt/skiff/namespace"
)

// createOptions are the flags of create (and run).
type createOptions struct {
	bundle        string
	pidFile       string
	consoleSocket string
	noPivot       bool
	noNewKeyring  bool
}

func (o *createOptions) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&o.bundle, "bundle", "b", ".", "path to the root of the bundle directory")
	f.StringVar(&o.pidFile, "pid-file", "", "specify the file to write the process id to")
	f.StringVar(&o.consoleSocket, "console-socket", "", "path to an AF_UNIX socket which will receive the pty master")
	f.BoolVar(&o.noPivot, "no-pivot", false, "accepted for runc compatibility; the rootfs is always pivoted into")
	f.BoolVar(&o.noNewKeyring, "no-new-keyring", false, "accepted for runc compatibility; no session keyring is made")
}

func newCreateCommand(g *globalFlags) *cobra.Command {
	o := &createOptions{}
	cmd := &cobra.Command{
		Use:   "create [flags] CONTAINER-ID",
		Short: "Create a container; its process waits until start",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, p, err := g.create(cmd.Context(), firstArg(args), o, false)
			if err != nil {
				return err
			}
			_ = c
			p.CloseConsole()
			return nil
		},
	}
	o.flags(cmd)
	return cmd
}

func firstArg(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// create makes the container's state dir and cgroup and its init, blocked on the exec
// fifo. With foreground (run) a terminal is copied to this process's stdio.
func (g *globalFlags) create(ctx context.Context, id string, o *createOptions, foreground bool) (*container, *createdProcess, error) {
	dir, err := g.containerDir(id)
	if err != nil {
		return nil, nil, err
	}
	spec, bundle, err := loadBundle(o.bundle)
	if err != nil {
		return nil, nil, err
	}
	if spec.Process.Terminal && o.consoleSocket == "" && !foreground {
		return nil, nil, errors.New("cannot allocate tty if runc will detach without setting console socket")
	}
	if !spec.Process.Terminal && o.consoleSocket != "" {
		return nil, nil, errors.New("cannot use console socket if runc will not detach or allocate tty")
	}
	cgPath, err := cgroupPath(spec, id)
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(g.root, 0o711); err != nil {
		return nil, nil, err
	}
	if err := os.Mkdir(dir, 0o711); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, nil, fmt.Errorf("container with id exists: %s", id)
		}
		return nil, nil, err
	}
	l, err := lockDir(ctx, dir, lockfile.Exclusive)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, nil, err
	}
	defer l.Unlock()
	var res *specs.LinuxResources
	if spec.Linux != nil {
		res = spec.Linux.Resources
	}
	cg, err := cgroup.New(cgPath, toResources(res))
	if err == nil {
		err = cgroup.ApplyExtra(cg, toExtra(res))
		if err == nil {
			err = applyDeviceRules(cg, deviceRules(spec))
		}
		if err != nil {
			_ = cg.Delete()
		}
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, nil, err
	}
	c := &container{ID: id, Bundle: bundle, Rootfs: spec.Root.Path, Created: time.Now().UTC(),
		Cgroup: cgPath, Spec: spec, dir: dir}
	cfg := &namespace.Config{
		Spec:     spec,
		StateDir: dir,
		Stdin:    os.Stdin,
		Stdout:   os.Stdout,
		Stderr:   os.Stderr,
		BeforeInit: func(pid int) error {
			if err := cg.AddProc(pid); err != nil {
				return err
			}
			if err := namespace.ApplySysctls(pid, spec); err != nil {
				return err
			}
			if adj := spec.Process.OOMScoreAdj; adj != nil {
				f := "/proc/" + strconv.Itoa(pid) + "/oom_score_adj"
				if err := os.WriteFile(f, []byte(strconv.Itoa(*adj)), 0o644); err != nil {
					return fmt.Errorf("process.oomScoreAdj: %w", err)
				}
			}
			if spec.Hooks == nil {
				return nil
			}
			st := specs.State{Version: specs.Version, ID: id, Status: statusCreating, Pid: pid,
				Bundle: bundle, Annotations: spec.Annotations}
			//nolint:staticcheck // prestart hooks are deprecated but still run, as runc does.
			if err := runHooks(ctx, "prestart", spec.Hooks.Prestart, st); err != nil {
				return err
			}
			return runHooks(ctx, "createRuntime", spec.Hooks.CreateRuntime, st)
		},
	}
	if spec.Process.Terminal && !foreground {
		cfg.Stdin, cfg.Stdout, cfg.Stderr = nil, nil, nil
	}
	p, err := namespace.Create(ctx, cfg)
	if err != nil {
		_ = cg.Delete()
		_ = os.RemoveAll(dir)
		return nil, nil, err
	}
	fail := func(err error) (*container, *createdProcess, error) {
		_ = p.Signal(unix.SIGKILL)
		_, _ = p.Wait()
		_ = cg.Kill()
		_ = cg.Delete()
		_ = os.RemoveAll(dir)
		return nil, nil, err
	}
	c.Pid, c.RootfsMount = p.Pid, p.RootfsMount
	if c.StartTime, _, err = procStat(p.Pid); err != nil {
		return fail(err)
	}
	if err := c.save(); err != nil {
		return fail(err)
	}
	if o.consoleSocket != "" {
		if err := sendConsole(o.consoleSocket, p.Console()); err != nil {
			return fail(err)
		}
	}
	if o.pidFile != "" {
		if err := writePidFile(o.pidFile, p.Pid); err != nil {
			return fail(err)
		}
	}
	slog.Debug("created", "id", id, "pid", p.Pid, "cgroup", cgPath)
	return c, &createdProcess{p}, nil
}

// applyDeviceRules writes rules to the devices cgroup; where it cannot (cgroup v2
// needs an eBPF program) they are ignored with a warning.
func applyDeviceRules(cg cgroup.Manager, rules []cgroup.DeviceRule) error {
	if len(rules) == 0 {
		return nil
	}
	err := cgroup.ApplyExtra(cg, cgroup.Extra{Devices: rules})
	if errors.Is(err, cgroup.ErrNotSupported) {
		slog.Warn("linux.resources.devices ignored", "err", err)
		return nil
	}
	return err
}

// createdProcess is the init this process created.
type createdProcess struct{ *namespace.Process }

// CloseConsole closes this process's copy of the pty master, if any.
func (p *createdProcess) CloseConsole() {
	if f := p.Console(); f != nil {
		f.Close()
	}
}

// sendConsole sends the pty master over the unix socket at path with SCM_RIGHTS, the
// file's name as the message, as runc does.
func sendConsole(path string, f *os.File) error {
	if f == nil {
		return errors.New("no console to send")
	}
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return fmt.Errorf("connect to console socket: %w", err)
	}
	defer conn.Close()
	raw, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var werr error
	if err := raw.Control(func(fd uintptr) {
		_, _, werr = conn.WriteMsgUnix([]byte("/dev/ptmx"), unix.UnixRights(int(fd)), nil)
	}); err != nil {
		return err
	}
	if werr != nil {
		return fmt.Errorf("send console over %s: %w", path, werr)
	}
	return nil
}

// writePidFile writes pid atomically, as runc does.
func writePidFile(path string, pid int) error {
	return atomicfile.WriteFile(path, []byte(strconv.Itoa(pid)), atomicfile.Options{})
}

func newRunCommand(g *globalFlags) *cobra.Command {
	o := &createOptions{}
	var detach bool
	cmd := &cobra.Command{
		Use:   "run [flags] CONTAINER-ID",
		Short: "Create and start a container, wait for it and delete it",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, p, err := g.create(ctx, firstArg(args), o, !detach)
			if err != nil {
				return err
			}
			if err := g.startContainer(ctx, c.ID, p.Process); err != nil {
				_, _ = p.Wait()
				_ = g.deleteContainer(ctx, c.ID, true)
				return err
			}
			if detach {
				p.CloseConsole()
				return nil
			}
			st, err := p.Wait()
			if derr := g.deleteContainer(ctx, c.ID, true); derr != nil && err == nil {
				err = derr
			}
			if err != nil {
				return err
			}
			return exitError{st.Code}
		},
	}
	o.flags(cmd)
	cmd.Flags().BoolVarP(&detach, "detach", "d", false, "detach from the container's process")
	return cmd
}
