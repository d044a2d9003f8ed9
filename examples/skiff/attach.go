package main

import (
	"errors"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/skiffrt/skiff"
)

func init() { commands = append(commands, newAttachCommand) }

// newAttachCommand: docker attach. It connects this terminal (or these streams) to a
// detached container created with -i or -t, through the container's attach socket;
// ^P^Q detaches and leaves the container running. When the container exits, its exit
// status is this command's.
func newAttachCommand(g *globalFlags) *cobra.Command {
	var noStdin bool
	cmd := &cobra.Command{
		Use:   "attach [OPTIONS] CONTAINER",
		Short: "Attach local standard input, output, and error streams to a running container",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := oneContainer(cmd, g, args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if st := c.State(); st.Status != skiff.StatusRunning && st.Status != skiff.StatusPaused {
				cmd.PrintErrln("You cannot attach to a stopped container, start it first")
				return exitError{1}
			}
			keys := &detachKeys{detached: make(chan struct{})}
			opts := skiff.AttachOptions{Stdout: os.Stdout, Stderr: os.Stderr}
			if !noStdin {
				keys.r = os.Stdin
				opts.Stdin = keys
			}
			a, err := c.Attach(ctx, opts)
			if err != nil {
				if errors.Is(err, skiff.ErrNotAttachable) {
					cmd.PrintErrf("cannot attach to container %s: it was not started with -i or -t (see skiff logs -f)\n", args[0])
					return exitError{1}
				}
				cmd.PrintErrln(daemonError(args[0], err))
				return exitError{1}
			}
			defer a.Close()
			if a.Tty() {
				if !noStdin && !term.IsTerminal(int(os.Stdin.Fd())) {
					cmd.PrintErrln("the input device is not a TTY")
					return exitError{1}
				}
				restore := attachTerminal(!noStdin, a.Resize)
				defer restore()
			}
			select {
			case <-a.Done():
			case <-keys.detached:
				return nil // the container keeps running
			case <-ctx.Done():
				return ctx.Err()
			}
			if err := a.Wait(); err != nil {
				return err
			}
			return waitExit(ctx, c)
		},
	}
	cmd.Flags().BoolVar(&noStdin, "no-stdin", false, "do not attach STDIN")
	return cmd
}

// detachKeys passes input through until the detach sequence ^P^Q, which ends it and
// closes detached. A ^P not followed by ^Q is passed on.
type detachKeys struct {
	r        io.Reader
	pending  bool // a ^P was read last
	detached chan struct{}
}

func (d *detachKeys) Read(p []byte) (int, error) {
	if len(p) < 2 {
		return 0, io.ErrShortBuffer
	}
	buf := make([]byte, len(p)-1) // room for a held-back ^P
	n, err := d.r.Read(buf)
	out := p[:0]
	for _, b := range buf[:n] {
		if d.pending {
			d.pending = false
			if b == 0x11 {
				close(d.detached)
				return len(out), io.EOF
			}
			out = append(out, 0x10)
		}
		if b == 0x10 {
			d.pending = true
			continue
		}
		out = append(out, b)
	}
	return len(out), err
}
