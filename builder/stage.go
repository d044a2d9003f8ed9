package builder

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/skiffrt/skiff/dockerfile"
	"github.com/skiffrt/skiff/registry"
)

// state is a stage's image while it is built: its layers, its config (with
// history) and the cache key of its last step.
type state struct {
	layers  []layer
	cfg     *v1.ConfigFile
	key     string
	created time.Time // of the last step; the image's creation time
}

func (s *state) clone() *state {
	c := *s
	c.layers = append([]layer(nil), s.layers...)
	c.cfg = s.cfg.DeepCopy()
	return &c
}

// stageRun is the per-stage bookkeeping while its steps run.
type stageRun struct {
	*state
	stage   *dockerfile.Stage
	scope   *dockerfile.Scope
	args    []string // names of the ARGs declared in the stage, in order
	cmdSet  bool     // CMD given in this stage (ENTRYPOINT then keeps it)
	step    int
	steps   int
	trigger bool // running ONBUILD triggers
}

// buildStage builds s (memoized), after the stages it depends on.
func (bd *build) buildStage(ctx context.Context, s *dockerfile.Stage) (*state, error) {
	if st, ok := bd.stages[s.Index]; ok {
		return st, nil
	}
	if bd.building[s.Index] {
		return nil, bd.stepErr(s.Node(), fmt.Errorf("%w: stage %s depends on itself", ErrStage, stageLabel(s)))
	}
	bd.building[s.Index] = true
	defer delete(bd.building, s.Index)

	base, err := bd.from(ctx, s)
	if err != nil {
		return nil, bd.stepErr(s.Node(), err)
	}
	r := &stageRun{state: base, stage: s, steps: len(s.Instructions) + 1, step: 1}
	bd.event(Event{Kind: StepDone, Stage: stageLabel(s), Step: 1, Steps: r.steps, Line: s.Node().StartLine,
		Instruction: "FROM " + s.BaseName, Cached: true})

	env := map[string]string{}
	for _, kv := range r.cfg.Config.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	r.scope = bd.file.NewScope(env, bd.global, bd.opts.BuildArgs)

	// ONBUILD triggers of the base run first, and are not inherited.
	if triggers := r.cfg.Config.OnBuild; len(triggers) > 0 {
		r.cfg.Config.OnBuild = nil
		f, err := dockerfile.ParseFile(strings.NewReader("FROM scratch\n" + strings.Join(triggers, "\n") + "\n"))
		if err != nil {
			return nil, bd.stepErr(s.Node(), fmt.Errorf("ONBUILD trigger of the base image: %w", err))
		}
		r.trigger = true
		for _, in := range f.Stages[0].Instructions {
			if err := bd.runStep(ctx, r, in, s.Node()); err != nil {
				return nil, err
			}
		}
		r.trigger = false
	}
	for _, in := range s.Instructions {
		r.step++
		if err := bd.runStep(ctx, r, in, in.Node()); err != nil {
			return nil, err
		}
	}
	bd.stages[s.Index] = r.state
	return r.state, nil
}

// from resolves a stage's base: scratch, an earlier stage, or an image.
func (bd *build) from(ctx context.Context, s *dockerfile.Stage) (*state, error) {
	name, platform, err := s.ExpandFrom(bd.file.Expander(), bd.global)
	if err != nil {
		return nil, err
	}
	plat := bd.platform
	if platform != "" {
		p, err := v1.ParsePlatform(platform)
		if err != nil {
			return nil, fmt.Errorf("%w: --platform %q: %w", ErrInvalidOptions, platform, err)
		}
		plat = *p
	}
	if dep, ok := bd.file.Stage(name); ok && dep.Index < s.Index && !isDigits(name) {
		st, err := bd.buildStage(ctx, dep)
		if err != nil {
			return nil, err
		}
		return st.clone(), nil
	}
	if strings.EqualFold(name, "scratch") {
		cf := &v1.ConfigFile{OS: plat.OS, Architecture: plat.Architecture, Variant: plat.Variant,
			Config: v1.Config{Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}}}
		return &state{cfg: cf, key: newKey("scratch").add(plat.String()).sum(), created: bd.epoch}, nil
	}
	img, err := bd.image(ctx, name, plat, platform != "")
	if err != nil {
		return nil, err
	}
	cf := img.Config.DeepCopy()
	created := cf.Created.Time
	if !bd.epoch.IsZero() {
		created = bd.epoch
	}
	return &state{layers: imageLayers(img), cfg: cf, key: newKey(digestKey(img.Digest)).sum(), created: created}, nil
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// image finds ref in the store, or pulls it.
func (bd *build) image(ctx context.Context, ref string, plat v1.Platform, explicit bool) (*registry.Image, error) {
	img, err := bd.b.cfg.Images.Image(ctx, ref)
	if err == nil && (!explicit || img.Platform.Satisfies(plat)) {
		return img, nil
	}
	if err != nil && !errors.Is(err, registry.ErrImageNotFound) {
		return nil, err
	}
	if bd.b.cfg.Pull == nil {
		return nil, fmt.Errorf("base image %s: %w", ref, registry.ErrImageNotFound)
	}
	var p *v1.Platform
	if explicit || bd.opts.Platform != "" {
		p = &plat
	}
	return bd.b.cfg.Pull(ctx, ref, p)
}

// runStep runs one instruction of r's stage. node is where errors point
// (the ONBUILD line of the base for triggers).
func (bd *build) runStep(ctx context.Context, r *stageRun, in dockerfile.Instruction, node *dockerfile.Node) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	start := time.Now()
	ev := Event{Stage: stageLabel(r.stage), Step: r.step, Steps: r.steps, Line: node.StartLine, Instruction: firstLine(in.Node().Original)}
	bd.event(Event{Kind: StepStarted, Stage: ev.Stage, Step: ev.Step, Steps: ev.Steps, Line: ev.Line, Instruction: ev.Instruction})
	cached, err := bd.step(ctx, r, in)
	ev.Elapsed = time.Since(start)
	if err != nil {
		err = bd.stepErr(node, err)
		ev.Kind, ev.Err = StepFailed, err
		bd.event(ev)
		return err
	}
	ev.Kind, ev.Cached = StepDone, cached
	bd.event(ev)
	return nil
}

// step applies in to r and reports whether a cached result was used.
func (bd *build) step(ctx context.Context, r *stageRun, in dockerfile.Instruction) (bool, error) {
	switch v := in.(type) {
	case *dockerfile.ArgInstruction:
		if err := r.scope.Declare(v); err != nil {
			return false, err
		}
		for _, a := range v.Args {
			r.args = append(r.args, a.Key)
			r.key = newKey(r.key).add("ARG", a.Key).sum()
		}
		return false, nil
	case *dockerfile.RunInstruction:
		if err := r.scope.Expand(v); err != nil {
			return false, err
		}
		return bd.run(ctx, r, v)
	case *dockerfile.CopyInstruction, *dockerfile.AddInstruction:
		if err := r.scope.Expand(in.(dockerfile.Expandable)); err != nil {
			return false, err
		}
		return bd.copy(ctx, r, in)
	case dockerfile.Expandable:
		if err := r.scope.Expand(v); err != nil {
			return false, err
		}
	}
	desc, err := applyMeta(r.cfg, in, &r.cmdSet)
	if err != nil {
		return false, err
	}
	r.key = newKey(r.key).add(desc).sum()
	r.cfg.History = append(r.cfg.History, v1.History{Created: v1.Time{Time: r.created}, CreatedBy: desc, EmptyLayer: true})
	return false, nil
}

// addLayer appends a layer made by a step, with its history entry.
func (r *stageRun) addLayer(l layer, created time.Time, createdBy string) {
	r.layers = append(r.layers, l)
	r.created = created
	r.cfg.History = append(r.cfg.History, v1.History{Created: v1.Time{Time: created}, CreatedBy: createdBy})
}
