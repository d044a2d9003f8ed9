package main

import (
	"errors"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"
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
				if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
					return errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect")
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
