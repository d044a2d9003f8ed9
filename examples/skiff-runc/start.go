package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff/internal/lockfile"
	"github.com/skiffrt/skiff/namespace"
)

func newStartCommand(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "start CONTAINER-ID",
		Short: "Start a created container: its init execs the user process",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.startContainer(cmd.Context(), firstArg(args), nil)
		},
	}
}

// startContainer releases the created init of id (p when this process created it),
// then runs the poststart hooks.
func (g *globalFlags) startContainer(ctx context.Context, id string, p *namespace.Process) error {
	c, l, err := g.load(ctx, id, lockfile.Exclusive)
	if err != nil {
		return err
	}
	defer l.Unlock()
	switch st := c.status(); st {
	case statusCreated:
	case statusStopped:
		return errors.New("cannot start a container that has stopped")
	case statusRunning:
		return errors.New("cannot start an already running container")
	default:
		return fmt.Errorf("cannot start a container in the %s state", st)
	}
	if p == nil {
		p = namespace.Load(c.Pid, c.dir)
	}
	if err := p.Start(); err != nil {
		return err
	}
	if c.Spec.Hooks != nil {
		if err := runHooks(ctx, "poststart", c.Spec.Hooks.Poststart, c.ociState()); err != nil {
			slog.Warn("poststart hook failed", "id", id, "err", err)
		}
	}
	return nil
}

func newStateCommand(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "state CONTAINER-ID",
		Short: "Print the runtime-spec state of a container as JSON",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, l, err := g.load(cmd.Context(), firstArg(args), lockfile.Shared)
			if err != nil {
				return err
			}
			defer l.Unlock()
			return printJSON(stateOutput(c))
		},
	}
}

// runcState is runc's state output: the runtime spec's fields plus runc's extras
// (rootfs, created, owner) that tools read.
type runcState struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      string            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     string            `json:"created"`
	Owner       string            `json:"owner"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

func stateOutput(c *container) runcState {
	s := c.ociState()
	return runcState{OCIVersion: s.Version, ID: s.ID, Pid: s.Pid, Status: string(s.Status),
		Bundle: s.Bundle, Rootfs: c.Rootfs, Created: c.Created.Format("2006-01-02T15:04:05.999999999Z"),
		Owner: "", Annotations: s.Annotations}
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
