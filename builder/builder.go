package builder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/go-digest"

	"github.com/skiffrt/skiff/dockerfile"
	"github.com/skiffrt/skiff/registry"
)

// Builder builds images from Dockerfiles into an image store. It holds no
// state between builds besides the on-disk cache, and may run several builds
// at once.
type Builder struct {
	cfg Config
	log *slog.Logger
}

// New returns a Builder over cfg, creating the cache dirs.
func New(cfg Config) (*Builder, error) {
	if cfg.Images == nil || cfg.Layers == nil || cfg.CacheDir == "" {
		return nil, fmt.Errorf("%w: Images, Layers and CacheDir are required", ErrInvalidOptions)
	}
	if cfg.TempDir == "" {
		cfg.TempDir = cfg.CacheDir
	}
	for _, d := range []string{filepath.Join(cfg.CacheDir, "blobs", "sha256"), filepath.Join(cfg.CacheDir, "keys"), cfg.TempDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("build cache: %w", err)
		}
	}
	b := &Builder{cfg: cfg, log: cfg.Log}
	if b.log == nil {
		b.log = slog.Default()
	}
	return b, nil
}

// build is the state of one Build call.
type build struct {
	b        *Builder
	release  func() // the GC lease (see lease.go)
	opts     Options
	file     *dockerfile.File
	fileName string
	ctxTree  *tree
	global   dockerfile.MapEnv
	platform v1.Platform
	epoch    time.Time

	stages   map[int]*state
	building map[int]bool

	mu      sync.Mutex
	created map[digest.Digest]bool // layers this build unpacked
}

func (bd *build) noteCreated(c digest.Digest) {
	bd.mu.Lock()
	defer bd.mu.Unlock()
	if !bd.b.cfg.Layers.Has(c) {
		bd.created[c] = true
	}
}

// Build builds the target stage of a Dockerfile (and the stages it needs)
// and stores the result under opts.Tags. See the package doc for what each
// step does; errors at an instruction are *StepError naming its line,
// Dockerfile syntax errors are *dockerfile.Error.
func (b *Builder) Build(ctx context.Context, opts Options) (_ *registry.Image, err error) {
	bd := &build{b: b, opts: opts, stages: map[int]*state{}, building: map[int]bool{}, created: map[digest.Digest]bool{}}
	if bd.release, err = b.lease(ctx); err != nil {
		return nil, err
	}
	defer func() { bd.release() }() // no-op once cleanup let go
	src, err := bd.readDockerfile()
	if err != nil {
		return nil, err
	}
	if bd.file, err = dockerfile.ParseFile(bytes.NewReader(src)); err != nil {
		var de *dockerfile.Error
		if errors.As(err, &de) && de.File == "" {
			de.File = bd.fileName
		}
		return nil, err
	}
	if opts.ContextDir != "" {
		if bd.ctxTree, err = loadContext(opts.ContextDir); err != nil {
			return nil, err
		}
	}
	host := dockerfile.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}
	target := host
	bd.platform = v1.Platform{OS: host.OS, Architecture: host.Architecture}
	if opts.Platform != "" {
		p, err := v1.ParsePlatform(opts.Platform)
		if err != nil {
			return nil, fmt.Errorf("%w: platform %q: %w", ErrInvalidOptions, opts.Platform, err)
		}
		bd.platform = *p
		target = dockerfile.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}
	}
	bd.epoch = opts.SourceDateEpoch
	if v, ok := opts.BuildArgs["SOURCE_DATE_EPOCH"]; ok && bd.epoch.IsZero() {
		sec, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: SOURCE_DATE_EPOCH %q: not a number of seconds", ErrInvalidOptions, v)
		}
		bd.epoch = time.Unix(sec, 0).UTC()
	}
	if !bd.epoch.IsZero() {
		bd.epoch = bd.epoch.UTC()
	}
	if bd.global, err = bd.file.GlobalArgs(dockerfile.BuiltinArgs(host, target, opts.Target), opts.BuildArgs); err != nil {
		return nil, err
	}
	stage := bd.file.Stages[len(bd.file.Stages)-1]
	if opts.Target != "" {
		s, ok := bd.file.Stage(opts.Target)
		if !ok {
			return nil, fmt.Errorf("%w: target stage %q not found", ErrStage, opts.Target)
		}
		stage = s
	}

	var keep []layer
	defer func() { bd.cleanup(keep) }()
	st, err := bd.buildStage(ctx, stage)
	if err != nil {
		return nil, err
	}
	cf := st.cfg.DeepCopy()
	if len(opts.Labels) > 0 && cf.Config.Labels == nil {
		cf.Config.Labels = map[string]string{}
	}
	for k, v := range opts.Labels {
		cf.Config.Labels[k] = v
	}
	cf.Created = v1.Time{Time: st.created}
	img, err := b.writeImage(ctx, opts.Tags, st.layers, cf)
	if err != nil {
		return nil, err
	}
	keep = st.layers
	return img, nil
}

func (bd *build) readDockerfile() ([]byte, error) {
	o := bd.opts
	bd.fileName = "Dockerfile"
	if o.DockerfileContent != nil {
		return o.DockerfileContent, nil
	}
	p := o.Dockerfile
	if p == "" {
		p = "Dockerfile"
	}
	bd.fileName = filepath.Base(p)
	if !filepath.IsAbs(p) {
		if o.ContextDir == "" {
			return nil, fmt.Errorf("%w: no ContextDir for Dockerfile %q", ErrInvalidOptions, p)
		}
		p = filepath.Join(o.ContextDir, p)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	return data, nil
}

// now is the creation time of a new step: SOURCE_DATE_EPOCH or the clock.
func (bd *build) now() time.Time {
	if !bd.epoch.IsZero() {
		return bd.epoch
	}
	return time.Now().UTC().Truncate(time.Second)
}

// stageLabel names a stage in events.
func stageLabel(s *dockerfile.Stage) string {
	if s.Name != "" {
		return s.Name
	}
	return strconv.Itoa(s.Index)
}

// event sends e to the progress callback.
func (bd *build) event(e Event) {
	if bd.opts.Progress != nil {
		bd.opts.Progress(e)
	}
}

// stepErr wraps err as a *StepError at in's line, unless it is one already
// or a Dockerfile error.
func (bd *build) stepErr(n *dockerfile.Node, err error) error {
	var se *StepError
	var de *dockerfile.Error
	switch {
	case errors.As(err, &se):
		if se.Line == 0 {
			se.File, se.Line, se.Instruction = bd.fileName, n.StartLine, firstLine(n.Original)
		}
		return se
	case errors.As(err, &de):
		if de.File == "" {
			de.File = bd.fileName
		}
		return err
	}
	return &StepError{File: bd.fileName, Line: n.StartLine, Instruction: firstLine(n.Original), Err: err}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}
