package skiff

import (
	"context"
	"fmt"
)

// resolveVolume returns the host directory of the volume m names, creating (and
// seeding from the image content at m.Target under rootfs) a volume used the first time.
func (e *Engine) resolveVolume(ctx context.Context, id string, m Mount, rootfs string) (string, error) {
	return "", fmt.Errorf("%w: named volumes are not implemented yet", ErrInvalidConfig)
}
