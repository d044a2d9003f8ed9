package main

import (
	"fmt"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"
)

func init() { commands = append(commands, newImportCommand) }

func newImportCommand(g *globalFlags) *cobra.Command {
	var changes []string
	cmd := &cobra.Command{
		Use:   "import [OPTIONS] file|- [REPOSITORY[:TAG]]",
		Short: "Import the contents from a tarball to create a filesystem image",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var r io.Reader = os.Stdin
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			ref := "imported:latest"
			if len(args) == 2 {
				ref = args[1]
			}
			var cfg v1.Config
			for _, c := range changes {
				if err := applyChange(&cfg, c); err != nil {
					return err
				}
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			img, err := e.Import(cmd.Context(), ref, r, cfg)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), img.ID)
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&changes, "change", "c", nil, "apply a Dockerfile instruction to the image config (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, WORKDIR, ...)")
	return cmd
}
