package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
)

func init() { commands = append(commands, newComposePluginCommand) }

// composePlugin is the binary that carries `skiff compose` (examples/skiff-compose): a
// plugin, as docker compose is docker's, so that this binary (re-executed as every
// container's init and monitor) does not link the Compose loader.
const composePlugin = "skiff-compose"

// newComposePluginCommand runs skiff-compose, found next to this executable or in PATH,
// with this command's arguments (global flags included) as they are.
func newComposePluginCommand(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:                "compose [OPTIONS] COMMAND",
		Short:              "Define and run multi-container applications (Compose files; the skiff-compose plugin)",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			path := ""
			if self, err := os.Executable(); err == nil {
				if p := filepath.Join(filepath.Dir(self), composePlugin); isExecutable(p) {
					path = p
				}
			}
			if path == "" {
				p, err := exec.LookPath(composePlugin)
				if err != nil {
					return fmt.Errorf("skiff compose needs the %s plugin next to skiff or in PATH (go build ./examples/skiff-compose): %w", composePlugin, err)
				}
				path = p
			}
			return syscall.Exec(path, append([]string{path}, os.Args[1:]...), os.Environ())
		},
	}
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}
