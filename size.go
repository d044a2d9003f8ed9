package skiff

import (
	"context"
	"fmt"
	"path/filepath"

	godigest "github.com/opencontainers/go-digest"
)

// Size measures what the container holds on disk: rw is its writable layer (the overlay
// upper dir: docker ps -s's size, SizeRw), rootfs that plus the image layers under it
// (the "virtual" size, SizeRootFs). Both count allocated blocks, as DiskUsage does.
func (c *Container) Size(ctx context.Context) (rw, rootfs int64, err error) {
	st := c.State()
	if c.isRemoved() {
		return 0, 0, fmt.Errorf("size of container %s: %w", shortID(c.id), ErrNotFound)
	}
	rw = diskUsage(filepath.Join(c.e.ctrs.path(c.id), "upper"))
	rootfs = rw
	for _, l := range st.Layers {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		d := godigest.Digest(l)
		if d.Validate() != nil {
			continue
		}
		rootfs += diskUsage(c.e.layers.Dir(d))
	}
	return rw, rootfs, nil
}
