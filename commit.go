package skiff

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/skiffrt/skiff/builder"
	"github.com/skiffrt/skiff/registry"
)

// CommitOptions describe a commit of a container (docker commit).
type CommitOptions struct {
	// Ref names the new image; "" stores it untagged (by digest under
	// builder.UntaggedRepo).
	Ref string
	// Changes are Dockerfile instructions applied to the image config (docker commit
	// --change): CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER,
	// VOLUME, WORKDIR, SHELL, HEALTHCHECK.
	Changes []string
	// Message is the history comment (-m); Author the image author (-a).
	Message, Author string
	// NoPause commits a running container without freezing it (docker commit
	// --pause=false).
	NoPause bool
}

// Commit turns a container's changes to its image (its overlay upper dir: added,
// changed and deleted files, deletions as whiteouts) into a new layer on top of that
// image, and stores the result with the container's image config plus opts.Changes.
// A running container is paused for the time of the commit (unless opts.NoPause), so
// the layer is one consistent instant of its filesystem. The new layer is unpacked, so containers of
// the image start at once.
func (c *Container) Commit(ctx context.Context, opts CommitOptions) (*registry.Image, error) {
	e := c.e
	st := c.State()
	base, err := e.images.Image(ctx, st.ImageID)
	if err != nil {
		return nil, fmt.Errorf("commit container %s: image %s: %w", shortID(st.ID), st.Image, err)
	}
	b, err := e.builder()
	if err != nil {
		return nil, err
	}
	// As Docker does, freeze a running container while its upper dir is read, so the
	// layer is one consistent instant of its filesystem.
	if st.Status == StatusRunning && !opts.NoPause {
		if err := c.Pause(ctx); err != nil {
			return nil, fmt.Errorf("commit container %s: %w", shortID(st.ID), err)
		}
		defer c.Resume(context.WithoutCancel(ctx))
	}
	img, err := b.Commit(ctx, builder.CommitOptions{
		Base:    base,
		Upper:   filepath.Join(e.ctrs.path(st.ID), "upper"),
		Ref:     opts.Ref,
		Changes: opts.Changes,
		Message: opts.Message,
		Author:  opts.Author,
	})
	if err != nil {
		return nil, e.failed(ctx, fmt.Errorf("commit container %s: %w", shortID(st.ID), err))
	}
	return img, nil
}
