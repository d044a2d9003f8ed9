package main

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff"
)

func init() { commands = append(commands, newCpCommand) }

func newCpCommand(g *globalFlags) *cobra.Command {
	var archive, follow bool
	cmd := &cobra.Command{
		Use:   "cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n  skiff cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
		Short: "Copy files/folders between a container and the local filesystem",
		Long: "Copy files/folders between a container and the local filesystem.\n\n" +
			"Use '-' as the source to read a tar archive from stdin and extract it to a directory\n" +
			"destination in a container. Use '-' as the destination to stream a tar archive of a\n" +
			"container source to stdout.",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			srcCtr, srcPath := splitCpArg(args[0])
			dstCtr, dstPath := splitCpArg(args[1])
			var err error
			switch {
			case srcCtr != "" && dstCtr == "":
				err = copyFromContainer(cmd, g, srcCtr, srcPath, dstPath, follow)
			case srcCtr == "" && dstCtr != "":
				err = copyToContainer(cmd, g, srcPath, dstCtr, dstPath, archive)
			case srcCtr != "":
				err = errors.New("copying between containers is not supported")
			default:
				err = errors.New("must specify at least one container source")
			}
			// docker cp exits 1 on every error.
			if ee := (exitError{}); err != nil && !errors.As(err, &ee) {
				msg := err.Error()
				if !strings.HasPrefix(msg, "Error response from daemon: ") {
					msg = "Error: " + msg
				}
				cmd.PrintErrln(msg)
				return exitError{1}
			}
			return err
		},
	}
	cmd.Flags().BoolVarP(&archive, "archive", "a", false, "Archive mode (copy all uid/gid information)")
	cmd.Flags().BoolVarP(&follow, "follow-link", "L", false, "Always follow symbol link in SRC_PATH")
	return cmd
}

// splitCpArg splits CONTAINER:PATH; a local path is one with no colon before its
// first slash (as docker reads it).
func splitCpArg(arg string) (string, string) {
	if strings.HasPrefix(arg, "/") || strings.HasPrefix(arg, ".") {
		return "", arg
	}
	ctr, p, ok := strings.Cut(arg, ":")
	if !ok {
		return "", arg
	}
	return ctr, p
}

func copyFromContainer(cmd *cobra.Command, g *globalFlags, ref, src, dst string, follow bool) error {
	c, err := oneContainer(cmd, g, ref)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	// -L: the link's target, archived under the link's name.
	from := src
	if st, err := c.StatPath(ctx, src); follow && err == nil && st.LinkTarget != "" {
		from = st.LinkTarget
	}
	rc, st, err := c.CopyFrom(ctx, from)
	if err != nil {
		return cpError(ref, src, err)
	}
	defer rc.Close()
	var tr io.Reader = rc
	if from != src {
		name := path.Base(path.Clean("/" + src))
		tr, st.Name = renameTop(rc, st.Name, name), name
	}
	if dst == "-" {
		_, err := io.Copy(cmd.OutOrStdout(), tr)
		return err
	}
	// Into an existing directory under the source's name; else as dst itself.
	into, r := dst, tr
	if fi, err := os.Stat(dst); err != nil || !fi.IsDir() {
		if st.Mode.IsDir() && err == nil {
			return fmt.Errorf("cannot copy a directory to a file: %s", dst)
		}
		into = filepath.Dir(filepath.Clean(dst))
		r = renameTop(tr, st.Name, filepath.Base(filepath.Clean(dst)))
	}
	return skiff.ExtractTar(ctx, into, r, skiff.ExtractOptions{})
}

func copyToContainer(cmd *cobra.Command, g *globalFlags, src, ref, dst string, archive bool) error {
	c, err := oneContainer(cmd, g, ref)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	opts := skiff.CopyToOptions{NoOverwriteDirNonDir: true, CopyUIDGID: archive}
	if src == "-" {
		return cpError(ref, dst, c.CopyTo(ctx, dst, cmd.InOrStdin(), opts))
	}
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	// Into an existing directory under the source's name ("." for "dir/."); else as
	// dst itself, in its parent.
	dir, name := dst, filepath.Base(src)
	if strings.HasSuffix(src, "/.") {
		name = "."
	}
	if st, err := c.StatPath(ctx, dst); err != nil || !st.Mode.IsDir() {
		if err == nil && fi.IsDir() {
			return fmt.Errorf("cannot copy a directory to a file: %s:%s", ref, dst)
		}
		dir, name = path.Dir(path.Clean("/"+dst)), path.Base(path.Clean("/"+dst))
	}
	rc, err := skiff.TarPath(ctx, src, name)
	if err != nil {
		return err
	}
	defer rc.Close()
	return cpError(ref, dst, c.CopyTo(ctx, dir, rc, opts))
}

// cpError words a missing path as Docker's CLI does.
func cpError(ref, p string, err error) error {
	if errors.Is(err, skiff.ErrPathNotFound) {
		return fmt.Errorf("Error response from daemon: Could not find the file %s in container %s", p, ref)
	}
	return err
}

// renameTop renames the tar's top entry from and everything below it to to.
func renameTop(r io.Reader, from, to string) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		tr, tw := tar.NewReader(r), tar.NewWriter(pw)
		for {
			hdr, err := tr.Next()
			if err == io.EOF {
				pw.CloseWithError(tw.Close())
				return
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			if from == "." { // a directory's contents ("dir/."): all of them go below to
				hdr.Name = path.Join(to, hdr.Name)
				if hdr.Typeflag == tar.TypeDir {
					hdr.Name += "/"
				}
			} else if rest, ok := strings.CutPrefix(hdr.Name, from); ok && (rest == "" || rest[0] == '/') {
				hdr.Name = to + rest
			}
			if hdr.Typeflag == tar.TypeLink && from == "." {
				hdr.Linkname = path.Join(to, hdr.Linkname)
			} else if hdr.Typeflag == tar.TypeLink {
				if rest, ok := strings.CutPrefix(hdr.Linkname, from); ok && (rest == "" || rest[0] == '/') {
					hdr.Linkname = to + rest
				}
			}
			if err := tw.WriteHeader(hdr); err != nil {
				pw.CloseWithError(err)
				return
			}
			if _, err := io.Copy(tw, tr); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
	}()
	return pr
}
