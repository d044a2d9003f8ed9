package main

import (
	"io"
	"os"

	"github.com/spf13/cobra"
)

func init() { commands = append(commands, newExportCommand) }

func newExportCommand(g *globalFlags) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "export [OPTIONS] CONTAINER",
		Short: "Export a container's filesystem as a tar archive",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if output == "" {
				if err := refuseTerminal(out); err != nil {
					return err
				}
			}
			c, err := oneContainer(cmd, g, args[0])
			if err != nil {
				return err
			}
			rc, err := c.Export(cmd.Context())
			if err != nil {
				return err
			}
			defer rc.Close()
			if output != "" {
				f, err := os.Create(output)
				if err != nil {
					return err
				}
				if _, err := io.Copy(f, rc); err != nil {
					f.Close()
					return err
				}
				return f.Close()
			}
			_, err = io.Copy(out, rc)
			return err
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Write to a file, instead of STDOUT")
	return cmd
}
