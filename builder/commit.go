package builder

import (
	"context"
	"fmt"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/go-digest"

	"github.com/skiffrt/skiff/registry"
)

// CommitOptions describe a commit of a container's changes (docker commit).
type CommitOptions struct {
	// Base is the image the container runs.
	Base *registry.Image
	// Upper is the container's overlay upper dir: its changes to Base. The
	// container should not write to it during the commit (stop or pause it).
	Upper string
	// Ref names the new image; "" stores it under UntaggedRepo by digest.
	Ref string
	// Changes are Dockerfile instructions applied to the config (see
	// ApplyChanges).
	Changes []string
	// Message is the history entry's comment; Author the image's author.
	Message, Author string
	// Created is the creation time. Default: now.
	Created time.Time
}

// Commit turns the changes in o.Upper into a layer on top of o.Base and
// stores the new image: the same diff as a RUN step (whiteouts for deleted
// files, opaque dirs), the config of Base with o.Changes applied and a
// history entry. The layer is unpacked in the layer store too, so a
// container of the new image starts without unpacking. On error the stores
// are left as they were.
func (b *Builder) Commit(ctx context.Context, o CommitOptions) (_ *registry.Image, err error) {
	if o.Base == nil || o.Upper == "" {
		return nil, fmt.Errorf("%w: commit needs Base and Upper", ErrInvalidOptions)
	}
	release, err := b.lease(ctx)
	if err != nil {
		return nil, err
	}
	bd := &build{b: b, created: map[digest.Digest]bool{}, release: release}
	defer func() { bd.release() }()
	var keep []layer
	defer func() { bd.cleanup(keep) }()

	cf := o.Base.Config.DeepCopy()
	if err := ApplyChanges(cf, o.Changes); err != nil {
		return nil, err
	}
	parent := imageLayers(o.Base)
	if err := bd.ensureUnpacked(ctx, parent); err != nil {
		return nil, err
	}
	lowers := make([]string, len(parent))
	for i, l := range parent {
		lowers[i] = b.cfg.Layers.Dir(l.Chain)
	}
	tmp, err := os.MkdirTemp(b.cfg.TempDir, ".tmp-commit-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	l, err := bd.commitUpper(ctx, parent, lowers, o.Upper, tmp)
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", o.Upper, err)
	}
	created := o.Created
	if created.IsZero() {
		created = time.Now().UTC().Truncate(time.Second)
	}
	if o.Author != "" {
		cf.Author = o.Author
	}
	cf.Created = v1.Time{Time: created}
	cf.History = append(cf.History, v1.History{Created: v1.Time{Time: created}, CreatedBy: "skiff commit",
		Comment: o.Message, Author: o.Author})
	var refs []string
	if o.Ref != "" {
		refs = []string{o.Ref}
	}
	ls := append(parent, l)
	img, err := b.writeImage(ctx, refs, ls, cf)
	if err != nil {
		return nil, err
	}
	keep = ls
	return img, nil
}
