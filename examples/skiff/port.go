package main

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

func init() { commands = append(commands, newPortCommand) }

func newPortCommand(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "port CONTAINER [PRIVATE_PORT[/PROTO]]",
		Short: "List port mappings or a specific mapping for the container",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := oneContainer(cmd, g, args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			eps, err := c.Endpoints(ctx)
			if err != nil {
				return err
			}
			var want string
			if len(args) == 2 {
				want = args[1]
				if !strings.Contains(want, "/") {
					want += "/tcp"
				}
			}
			found := false
			for _, ep := range eps {
				for _, p := range ep.Ports {
					proto := p.Proto
					if proto == "" {
						proto = "tcp"
					}
					private := strconv.Itoa(int(p.ContainerPort)) + "/" + proto
					host := "0.0.0.0"
					if p.HostIP.IsValid() {
						host = p.HostIP.String()
					}
					public := netip.AddrPortFrom(netip.MustParseAddr(host), p.HostPort).String()
					switch {
					case want == "":
						fmt.Fprintf(cmd.OutOrStdout(), "%s -> %s\n", private, public)
					case want == private:
						fmt.Fprintln(cmd.OutOrStdout(), public)
						found = true
					}
				}
			}
			if want != "" && !found {
				cmd.PrintErrf("Error: No public port '%s' published for %s\n", want, args[0])
				return exitError{1}
			}
			return nil
		},
	}
}
