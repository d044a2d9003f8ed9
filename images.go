package skiff

import (
	"context"
	"fmt"
	"slices"

	"github.com/opencontainers/go-digest"

	"github.com/skiffrt/skiff/errdefs"
	"github.com/skiffrt/skiff/registry"
)

// ErrImageInUse: an image a container was created from cannot be removed without force.
// The concrete error is an *ImageInUseError.
var ErrImageInUse = errdefs.New(errdefs.ErrConflict, "image is in use")

// ImageInUseError reports an image removal refused because containers use the image, or
// because (removed by ID) it has several names. Its message is docker's.
type ImageInUseError struct {
	Ref        string   // what the caller asked to remove
	ImageID    string   // the image's short ID
	Containers []string // short IDs of the containers using it
	Names      []string // the image's names, when removed by ID with several of them
}

func (e *ImageInUseError) Error() string {
	switch {
	case len(e.Containers) > 0 && e.Ref != e.ImageID:
		return fmt.Sprintf("conflict: unable to remove repository reference %q (must force) - container %s is using its referenced image %s",
			e.Ref, e.Containers[0], e.ImageID)
	case len(e.Containers) > 0:
		return fmt.Sprintf("conflict: unable to delete %s (must be forced) - image is being used by container %s", e.ImageID, e.Containers[0])
	default:
		return fmt.Sprintf("conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories", e.ImageID)
	}
}

// Unwrap returns ErrImageInUse.
func (e *ImageInUseError) Unwrap() error { return ErrImageInUse }

// Push uploads the stored image ref to its registry (registry.Store.Push: only the blobs
// the registry lacks, mounting across repositories when it can) and returns the manifest
// digest. The engine's insecure registries apply. `docker push REF`.
func (e *Engine) Push(ctx context.Context, ref string, opts ...registry.Option) (digest.Digest, error) {
	all := append([]registry.Option{registry.WithInsecure(e.insecure...)}, opts...)
	d, err := e.images.Push(ctx, ref, all...)
	if err == nil {
		e.emit(EventImage, "push", ref, map[string]string{"name": ref})
	}
	return d, err
}

// PushIndex pushes the stored images sources (one per platform) and an image index
// naming them under ref: a multi-platform image (registry.Store.PushIndex), with the
// engine's insecure registries.
func (e *Engine) PushIndex(ctx context.Context, ref string, sources []string, opts ...registry.Option) (digest.Digest, error) {
	all := append([]registry.Option{registry.WithInsecure(e.insecure...)}, opts...)
	return e.images.PushIndex(ctx, ref, sources, all...)
}

// CheckLogin checks credentials against a registry host and stores nothing
// (registry.CheckLogin), with the engine's insecure registries.
func (e *Engine) CheckLogin(ctx context.Context, host, user, password string) error {
	return registry.CheckLogin(ctx, host, user, password, registry.WithInsecure(e.insecure...))
}

// Login checks the credentials against the registry host and stores them in the docker
// config.json (registry.Login), with the engine's insecure registries. `docker login`.
func (e *Engine) Login(ctx context.Context, host, user, password string, opts ...registry.Option) error {
	all := append([]registry.Option{registry.WithInsecure(e.insecure...)}, opts...)
	return registry.Login(ctx, host, user, password, all...)
}

// RemovedImage says what RemoveImage did, in the words `docker rmi` prints.
type RemovedImage struct {
	Untagged []string        // names removed
	Deleted  []digest.Digest // image ID, then the unpacked layers (chain IDs) deleted with it
}

// RemoveImageOptions tune RemoveImage.
type RemoveImageOptions struct {
	// Force removes the last name of an image that containers were created from, and
	// every name of an image removed by ID (docker rmi -f).
	Force bool
}

// RemoveImage removes an image name, or (by ID or digest) every name of an image, like
// `docker rmi`. Removing the last name of an image that a container (running or not) was
// created from is refused with an *ImageInUseError unless opts.Force is set; so is removing by
// ID an image that has several names. When no name is left, the image's blobs and the
// unpacked layers nothing else uses are deleted at once (as PruneImages would). A
// container keeps its layers even when forced: they go when it is deleted and the next
// prune runs.
func (e *Engine) RemoveImage(ctx context.Context, ref string, opts RemoveImageOptions) (*RemovedImage, error) {
	force := opts.Force
	img, err := e.images.Image(ctx, ref)
	if err != nil {
		return nil, err
	}
	byName := false
	if norm, err := registry.Normalize(ref); err == nil && slices.Contains(img.Names, norm) {
		byName = true
		ref = norm
	}
	lastName := !byName || len(img.Names) <= 1
	if !force && lastName {
		users, err := e.imageUsers(ctx, img.ID)
		if err != nil {
			return nil, err
		}
		if len(users) > 0 {
			r := ref
			if !byName {
				r = img.ShortID()
			}
			return nil, fmt.Errorf("remove image %s: %w", ref, &ImageInUseError{Ref: r, ImageID: img.ShortID(), Containers: users})
		}
		if !byName && len(img.Names) > 1 {
			return nil, fmt.Errorf("remove image %s: %w", ref, &ImageInUseError{Ref: img.ShortID(), ImageID: img.ShortID(), Names: img.Names})
		}
	}
	out := &RemovedImage{}
	if byName {
		err = e.images.Remove(ctx, ref)
		out.Untagged = []string{ref}
	} else {
		err = e.images.Remove(ctx, img.Digest.String())
		out.Untagged = img.Names
	}
	if err != nil {
		return nil, err
	}
	for _, n := range out.Untagged {
		e.emit(EventImage, "untag", img.ID.String(), map[string]string{"name": n})
	}
	if !lastName {
		return out, nil
	}
	e.emit(EventImage, "delete", img.ID.String(), map[string]string{"name": img.ID.String()})
	out.Deleted = append(out.Deleted, img.ID)
	rep, err := e.collect(ctx)
	if err != nil {
		return out, err
	}
	out.Deleted = append(out.Deleted, rep.Layers...)
	return out, nil
}

// imageUsers returns the short IDs of the containers created from image id.
func (e *Engine) imageUsers(ctx context.Context, id digest.Digest) ([]string, error) {
	cs, err := e.Containers(ctx)
	if err != nil {
		return nil, err
	}
	var users []string
	for _, c := range cs {
		if c.st.ImageID == id.String() {
			users = append(users, shortID(c.ID()))
		}
	}
	return users, nil
}
