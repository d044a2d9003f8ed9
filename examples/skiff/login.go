package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/skiffrt/skiff/registry"
)

func init() { commands = append(commands, newLoginCommand, newLogoutCommand) }

func newLoginCommand(g *globalFlags) *cobra.Command {
	var user, password string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "login [OPTIONS] [SERVER]",
		Short: "Log in to a registry (credentials go to the docker config.json)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			server := "docker.io"
			if len(args) == 1 {
				server = args[0]
			}
			in := cmd.InOrStdin()
			if passwordStdin {
				if password != "" {
					return errors.New("--password and --password-stdin are mutually exclusive")
				}
				if user == "" {
					return errors.New("must provide --username with --password-stdin")
				}
				b, err := io.ReadAll(in)
				if err != nil {
					return err
				}
				password = strings.TrimRight(string(b), "\r\n")
			}
			if user == "" {
				fmt.Fprint(cmd.OutOrStdout(), "Username: ")
				line, err := bufio.NewReader(in).ReadString('\n')
				if err != nil && line == "" {
					return errors.New("username required")
				}
				user = strings.TrimSpace(line)
			}
			if password == "" {
				f, ok := in.(*os.File)
				if !ok || !term.IsTerminal(int(f.Fd())) {
					return errors.New("password required: use --password or --password-stdin")
				}
				fmt.Fprint(cmd.OutOrStdout(), "Password: ")
				b, err := term.ReadPassword(int(f.Fd()))
				fmt.Fprintln(cmd.OutOrStdout())
				if err != nil {
					return err
				}
				password = string(b)
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			if err := e.Login(cmd.Context(), server, user, password); err != nil {
				cmd.PrintErrf("Error response from daemon: %v\n", err)
				return exitError{1}
			}
			fmt.Fprintln(cmd.OutOrStdout(), "Login Succeeded")
			return nil
		},
	}
	cmd.Flags().StringVarP(&user, "username", "u", "", "username")
	cmd.Flags().StringVarP(&password, "password", "p", "", "password")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "take the password from stdin")
	return cmd
}

func newLogoutCommand(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "logout [SERVER]",
		Short: "Log out from a registry",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			server := "docker.io"
			if len(args) == 1 {
				server = args[0]
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Removing login credentials for %s\n", server)
			return registry.Logout(server)
		},
	}
}
