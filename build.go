package skiff

import (
	"context"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/skiffrt/skiff/builder"
	"github.com/skiffrt/skiff/registry"
)

// BuildOptions describe a Dockerfile build: context dir, Dockerfile (path or bytes),
// tags, build args, target stage, no-cache, platform, labels, progress callback,
// SOURCE_DATE_EPOCH. See builder.Options for every field.
type BuildOptions = builder.Options

// BuildEvent is one progress report of a build (a step started, ended or failed).
type BuildEvent = builder.Event

// Build builds an image from a Dockerfile into the engine's store (docker build) and
// returns it. RUN steps run in throwaway containers (runInRootfs) on overlay snapshots
// of the step's parent; FROM images missing from the store are pulled (with the
// engine's insecure registries); step results are cached under Root()/build-cache, so
// a rebuild with nothing changed starts no container. A failed or cancelled build
// stores no image and leaves no layer, mount or container behind; a failing RUN is a
// *builder.StepError naming the Dockerfile line, exit code and output tail.
func (e *Engine) Build(ctx context.Context, opts BuildOptions) (*registry.Image, error) {
	e.heal(ctx)
	b, err := e.builder()
	if err != nil {
		return nil, err
	}
	img, err := b.Build(ctx, opts)
	return img, e.failed(ctx, err)
}

// builder returns a Builder on the engine's stores.
func (e *Engine) builder() (*builder.Builder, error) {
	return builder.New(builder.Config{
		Images:   e.images,
		Layers:   e.layers,
		Runner:   buildRunner{e},
		CacheDir: e.buildCache(),
		Log:      e.log,
		Pull: func(ctx context.Context, ref string, p *v1.Platform) (*registry.Image, error) {
			var opts []registry.Option
			if p != nil {
				opts = append(opts, registry.WithPlatform(*p))
			}
			return e.Pull(ctx, ref, opts...)
		},
	})
}

// buildCache is the build cache's dir (the builder's own layout).
func (e *Engine) buildCache() string { return filepath.Join(e.root, "build-cache") }

// buildRunner runs RUN steps with runInRootfs.
type buildRunner struct{ e *Engine }

func (r buildRunner) Run(ctx context.Context, rootfs string, p builder.Process) (int, error) {
	cfg := ContainerConfig{
		Entrypoint: p.Args,
		Env:        p.Env,
		User:       p.User,
		WorkingDir: p.WorkingDir,
		Stdout:     p.Stdout,
		Stderr:     p.Stderr,
	}
	switch p.Network {
	case "none":
		cfg.Network = NetworkNone
	case "host":
		cfg.Network = NetworkHost
	}
	st, err := r.e.runInRootfs(ctx, rootfs, cfg)
	return st.Code, err
}
