package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/template"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/examples/internal/dockeropts"
	"github.com/skiffrt/skiff/registry"
)

func init() {
	commands = append(commands, func(g *globalFlags) *cobra.Command { return newInspectCommandFor(g, "") })
}

// imageInspect is the part of docker's image inspect JSON that Skiff knows.
type imageInspect struct {
	ID           string    `json:"Id"`
	RepoTags     []string  `json:"RepoTags"`
	RepoDigests  []string  `json:"RepoDigests"`
	Created      time.Time `json:"Created"`
	Author       string    `json:"Author,omitempty"`
	Architecture string    `json:"Architecture"`
	Variant      string    `json:"Variant,omitempty"`
	Os           string    `json:"Os"`
	Size         int64     `json:"Size"`
	Config       v1.Config `json:"Config"`
	MediaType    string    `json:"Descriptor.MediaType"`
	RootFS       struct {
		Type   string   `json:"Type"`
		Layers []string `json:"Layers"`
	} `json:"RootFS"`
	Layers []registry.Layer `json:"SkiffLayers"`
}

func newImageInspect(img *registry.Image) imageInspect {
	ii := imageInspect{
		ID: img.ID.String(), RepoTags: []string{}, RepoDigests: []string{},
		Created: img.Config.Created.Time, Author: img.Config.Author,
		Architecture: img.Platform.Architecture, Variant: img.Platform.Variant, Os: img.Platform.OS,
		Size: img.Size, Config: img.Config.Config, MediaType: img.MediaType, Layers: img.Layers,
	}
	for _, n := range img.Names {
		repo, _ := splitRef(n)
		ii.RepoTags = append(ii.RepoTags, n)
		ii.RepoDigests = append(ii.RepoDigests, repo+"@"+img.Digest.String())
	}
	ii.RootFS.Type = "layers"
	for _, l := range img.Layers {
		ii.RootFS.Layers = append(ii.RootFS.Layers, l.DiffID.String())
	}
	return ii
}

// newInspectCommandFor is `skiff inspect` (kind ""): a container by name or ID first,
// else an image; or `skiff image inspect` (kind "image").
func newInspectCommandFor(g *globalFlags, kind string) *cobra.Command {
	var format, typ string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] NAME|ID [NAME|ID...]",
		Short: "Return low-level information on containers or images",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if kind != "" {
				typ = kind
			}
			tmpl, err := inspectTemplate(format)
			if err != nil {
				return err
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			var found []any
			var failed error
			for _, ref := range args {
				v, err := inspectOne(cmd, e, ref, typ)
				if err != nil {
					cmd.PrintErrf("Error: %v\n", err)
					failed = exitError{1}
					continue
				}
				found = append(found, v)
			}
			if err := printInspect(cmd.OutOrStdout(), tmpl, found); err != nil {
				return err
			}
			return failed
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "format the output using the given Go template")
	if kind == "" {
		cmd.Flags().StringVar(&typ, "type", "", "only this type: container or image")
	}
	return cmd
}

func inspectOne(cmd *cobra.Command, e *skiff.Engine, ref, typ string) (any, error) {
	if typ == "" || typ == "container" {
		c, err := e.Container(cmd.Context(), ref)
		if err == nil {
			// Docker's fields ({{.State.Pid}}, {{.NetworkSettings.IPAddress}}, ...);
			// the library's own record under .Skiff.
			return dockeropts.ContainerInspect(cmd.Context(), e, c), nil
		}
		if !errors.Is(err, skiff.ErrNotFound) || typ == "container" {
			return nil, err
		}
	}
	img, err := e.Image(cmd.Context(), ref)
	if err != nil {
		if errors.Is(err, registry.ErrImageNotFound) {
			return nil, fmt.Errorf("no such object: %s", ref)
		}
		return nil, err
	}
	return newImageInspect(img), nil
}

// inspectTemplate parses an inspect command's --format (nil for none).
func inspectTemplate(format string) (*template.Template, error) {
	if format == "" {
		return nil, nil
	}
	t, err := template.New("format").Funcs(templateFuncs).Parse(format)
	if err != nil {
		return nil, fmt.Errorf("template parsing error: %w", err)
	}
	return t, nil
}

// printInspect writes what an inspect command found: a line per object from tmpl, or
// without one, docker's indented JSON array.
func printInspect(out io.Writer, tmpl *template.Template, found []any) error {
	if tmpl != nil {
		for _, v := range found {
			// Templates address docker's field names: go through JSON.
			// Numbers stay as written (67108864, not 6.7108864e+07).
			var m any
			b, _ := json.Marshal(v)
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.UseNumber()
			dec.Decode(&m)
			var sb strings.Builder
			if err := tmpl.Execute(&sb, m); err != nil {
				return err
			}
			fmt.Fprintln(out, sb.String())
		}
		return nil
	}
	if found == nil {
		found = []any{}
	}
	b, err := json.MarshalIndent(found, "", "    ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, string(b))
	return err
}
