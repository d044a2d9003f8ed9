package skiff

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/skiffrt/skiff/registry"
)

// Import makes a one-layer image named ref from r, an uncompressed tar stream of a
// root filesystem (docker import), with config as its image config (Cmd, Env, ...),
// created now, its one history step commented "Imported from -".
// The image is stored and unpacked, ready to run.
func (e *Engine) Import(ctx context.Context, ref string, r io.Reader, config v1.Config) (*registry.Image, error) {
	spool, path, err := e.spool(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", ref, err)
	}
	defer spool.Close()
	layer, err := tarball.LayerFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", ref, err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", ref, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", ref, err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config = config
	// As docker import: created now, one history step for the one layer.
	now := v1.Time{Time: time.Now().UTC()}
	cf.Created = now
	cf.History = []v1.History{{Created: now, Comment: "Imported from -"}}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, fmt.Errorf("import %s: %w", ref, err)
	}
	stored, err := e.images.Write(ctx, ref, img)
	if err != nil {
		return nil, err
	}
	if err := e.unpack(ctx, stored); err != nil {
		return nil, err
	}
	return stored, nil
}

// readerCtx stops a copy when its context ends.
type readerCtx struct {
	ctx context.Context
	r   io.Reader
}

func (r readerCtx) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
