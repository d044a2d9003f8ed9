package main

import (
	"fmt"
	"net/netip"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff/examples/internal/dockeropts"
	"github.com/skiffrt/skiff/netbridge"
)

func init() { commands = append(commands, newNetworkCommand) }

func newNetworkCommand(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "network", Short: "Manage networks"}
	var subnet string
	create := &cobra.Command{
		Use:   "create [OPTIONS] NETWORK",
		Short: "Create a bridge network",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			cfg := netbridge.NetworkConfig{Name: args[0]}
			if subnet != "" {
				if cfg.Subnet, err = netip.ParsePrefix(subnet); err != nil {
					return fmt.Errorf("invalid subnet %q: %w", subnet, err)
				}
			}
			n, err := e.CreateNetwork(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), n.ID)
			return nil
		},
	}
	create.Flags().StringVar(&subnet, "subnet", "", "subnet in CIDR format (default: one that overlaps no host route)")
	create.Flags().StringP("driver", "d", "bridge", "driver (only bridge)")

	var quiet bool
	ls := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List networks",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			nets, err := e.Networks().Networks(cmd.Context())
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 3, ' ', 0)
			if !quiet {
				fmt.Fprintln(w, "NETWORK ID\tNAME\tDRIVER\tSUBNET\tBRIDGE")
			}
			// host and none are modes, not stored networks; docker lists them too.
			nets = append(nets, netbridge.Network{Name: "host", ID: "host"}, netbridge.Network{Name: "none", ID: "none"})
			for _, n := range nets {
				if n.ID == "host" || n.ID == "none" {
					if quiet {
						fmt.Fprintln(w, n.ID)
					} else {
						fmt.Fprintf(w, "%s\t%s\t%s\t-\t-\n", n.ID, n.Name, n.Name)
					}
					continue
				}
				if quiet {
					fmt.Fprintln(w, short(n.ID))
					continue
				}
				fmt.Fprintf(w, "%s\t%s\tbridge\t%s\t%s\n", short(n.ID), n.Name, n.Subnet, n.Bridge)
			}
			return w.Flush()
		},
	}
	ls.Flags().BoolVarP(&quiet, "quiet", "q", false, "only display network IDs")

	var inspectFormat string
	inspect := &cobra.Command{
		Use:   "inspect [OPTIONS] NETWORK [NETWORK...]",
		Short: "Display detailed information on networks",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tmpl, err := inspectTemplate(inspectFormat)
			if err != nil {
				return err
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			var found []any
			var failed error
			for _, name := range args {
				n, err := e.Networks().Network(cmd.Context(), name)
				var eps []netbridge.Endpoint
				if err == nil {
					eps, err = e.Networks().Endpoints(cmd.Context(), name)
				}
				if err != nil {
					cmd.PrintErrln("Error response from daemon: " + err.Error())
					failed = exitError{1}
					continue
				}
				found = append(found, dockeropts.NetworkInspect(*n, "bridge", eps))
			}
			if err := printInspect(cmd.OutOrStdout(), tmpl, found); err != nil {
				return err
			}
			return failed
		},
	}
	inspect.Flags().StringVarP(&inspectFormat, "format", "f", "", "format the output using the given Go template")
	rm := &cobra.Command{
		Use:     "rm NETWORK [NETWORK...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more networks",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			return eachName(cmd, args, false, e.RemoveNetwork)
		},
	}
	prune := &cobra.Command{
		Use:   "prune",
		Short: "Remove all unused networks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if force, _ := cmd.Flags().GetBool("force"); !force &&
				!confirm(cmd, "WARNING! This will remove all custom networks not used by at least one container.") {
				return nil
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			removed, err := e.PruneNetworks(cmd.Context())
			if err != nil {
				return err
			}
			if len(removed) > 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "Deleted Networks:")
				for _, n := range removed {
					fmt.Fprintln(cmd.OutOrStdout(), n)
				}
			}
			return nil
		},
	}
	prune.Flags().BoolP("force", "f", false, "do not prompt for confirmation")
	var aliases []string
	connect := &cobra.Command{
		Use:   "connect [OPTIONS] NETWORK CONTAINER",
		Short: "Connect a running container to a network",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			c, err := e.Container(cmd.Context(), args[1])
			if err != nil {
				return err
			}
			_, err = c.Connect(cmd.Context(), args[0], aliases...)
			return err
		},
	}
	connect.Flags().StringSliceVar(&aliases, "alias", nil, "add network-scoped alias for the container")
	disconnect := &cobra.Command{
		Use:   "disconnect NETWORK CONTAINER",
		Short: "Disconnect a container from a network",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			c, err := e.Container(cmd.Context(), args[1])
			if err != nil {
				return err
			}
			return c.Disconnect(cmd.Context(), args[0])
		},
	}
	cmd.AddCommand(create, ls, inspect, rm, prune, connect, disconnect)
	return cmd
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
