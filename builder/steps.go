package builder

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/moby/patternmatcher"

	"github.com/skiffrt/skiff/dockerfile"
)

// tailBuffer keeps the last bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

// String returns the last lines (at most 10, at most max bytes).
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	if len(b) > t.max {
		b = b[len(b)-t.max:]
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return strings.Join(lines, "\n")
}

// runArgs is the argv of a RUN: heredocs go to the shell with the command,
// and a RUN that is only a heredoc runs its body as a script.
func runArgs(r *stageRun, v *dockerfile.RunInstruction) []string {
	cmd := v.Command
	if !cmd.Shell || len(cmd.Files) == 0 {
		return commandArgs(&r.cfg.Config, cmd)
	}
	script := cmd.Args[0]
	rest := strings.Fields(script)
	onlyHeredoc := len(rest) == 1 && strings.HasPrefix(rest[0], "<<") && len(cmd.Files) == 1
	if onlyHeredoc {
		script = cmd.Files[0].Body()
	} else {
		var b strings.Builder
		b.WriteString(script)
		b.WriteByte('\n')
		for _, f := range cmd.Files {
			b.WriteString(f.Content)
			b.WriteString(f.Name)
			b.WriteByte('\n')
		}
		script = b.String()
	}
	return append(append([]string{}, shellOf(&r.cfg.Config)...), script)
}

func (bd *build) run(ctx context.Context, r *stageRun, v *dockerfile.RunInstruction) (bool, error) {
	if len(v.Mounts) > 0 {
		return false, fmt.Errorf("%w: RUN --mount", ErrUnsupported)
	}
	if v.Security == "insecure" {
		return false, fmt.Errorf("%w: RUN --security=insecure", ErrUnsupported)
	}
	c := &r.cfg.Config
	args := runArgs(r, v)
	env := append([]string{}, c.Env...)
	for _, name := range r.args {
		if val, ok := r.scope.Lookup(name); ok && !hasKey(c.Env, name) {
			env = setEnv(env, name, val)
		}
	}
	network := v.Network
	if network == "" || network == "default" {
		network = bd.opts.Network
	}
	if network == "" {
		network = "default"
	}
	wd := c.WorkingDir
	if wd == "" {
		wd = "/"
	}
	desc := "RUN " + strings.Join(args, " ")
	key := newKey(r.key).add("RUN", jsonArgs(args), jsonArgs(env), c.User, wd, network).sum()
	r.key = key
	if !bd.opts.NoCache {
		if e, blob, ok := bd.b.lookup(key); ok {
			r.addLayer(bd.layerFromCache(r, e, blob), e.Created, e.CreatedBy)
			return true, nil
		}
	}
	if bd.b.cfg.Runner == nil {
		return false, fmt.Errorf("%w: no Runner for RUN steps", ErrInvalidOptions)
	}
	tail := &tailBuffer{max: 4096}
	var out io.Writer = tail
	if bd.opts.Output != nil {
		out = io.MultiWriter(bd.opts.Output, tail)
	}
	l, err := bd.snapshot(ctx, r.layers, func(rootfs string) error {
		if _, err := (&fsWriter{root: rootfs}).mkdirAll(wd); err != nil {
			return fmt.Errorf("WORKDIR %s: %w", wd, err)
		}
		code, err := bd.b.cfg.Runner.Run(ctx, rootfs, Process{
			Args: args, Env: env, User: c.User, WorkingDir: wd, Network: network, Stdout: out, Stderr: out,
		})
		if err != nil {
			return err
		}
		if code != 0 {
			return &StepError{ExitCode: code, Output: tail.String(), Err: ErrRunFailed}
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	bd.finishStep(r, key, l, desc)
	return false, nil
}

// finishStep records a new layer in the cache and the stage.
func (bd *build) finishStep(r *stageRun, key string, l layer, desc string) {
	created := bd.now()
	if err := bd.b.record(key, cacheEntry{Layer: l.Layer, Created: created, CreatedBy: desc}); err != nil {
		bd.b.log.Warn("build cache: record step", "key", key, "err", err)
	}
	r.addLayer(l, created, desc)
}

func (bd *build) layerFromCache(r *stageRun, e *cacheEntry, blob string) layer {
	l := layer{Layer: e.Layer, Blob: blob}
	l.Chain = chainOf(r.layers, e.Layer.DiffID)
	return l
}

func hasKey(env []string, k string) bool {
	for _, kv := range env {
		if name, _, _ := strings.Cut(kv, "="); name == k {
			return true
		}
	}
	return false
}

func (bd *build) copy(ctx context.Context, r *stageRun, in dockerfile.Instruction) (bool, error) {
	cs, err := copyStepOf(in)
	if err != nil {
		return false, err
	}
	wd := r.cfg.Config.WorkingDir
	desc := describeCopy(in.Keyword(), cs)
	k := newKey(r.key).add(desc, wd)
	c := &copier{step: cs, workdir: wd}
	if len(cs.excludes) > 0 {
		if c.excl, err = patternmatcher.New(cs.excludes); err != nil {
			return false, fmt.Errorf("--exclude: %w", err)
		}
	}
	var from *state
	if cs.from != "" {
		if s, ok := bd.file.Stage(cs.from); ok {
			if s.Index == r.stage.Index {
				return false, fmt.Errorf("%w: --from=%s names the stage itself", ErrStage, cs.from)
			}
			if from, err = bd.buildStage(ctx, s); err != nil {
				return false, err
			}
		} else {
			img, err := bd.image(ctx, cs.from, bd.platform, false)
			if err != nil {
				return false, fmt.Errorf("--from=%s: %w", cs.from, err)
			}
			from = &state{layers: imageLayers(img), key: digestKey(img.Digest)}
		}
		k.add("from", from.key)
	} else {
		c.src, c.srcs = bd.ctxTree, []source{}
		for _, p := range cs.sources {
			if isURL(p) {
				if !cs.add {
					return false, fmt.Errorf("%w: COPY of a URL (%s): use ADD", ErrUnsupported, p)
				}
				s, done, err := fetch(ctx, bd.b.cfg.TempDir, p, cs.checksum)
				if err != nil {
					return false, err
				}
				defer done()
				c.synths = append(c.synths, s)
				k.add("url", p, s.hash)
				continue
			}
			if bd.ctxTree == nil {
				return false, fmt.Errorf("%w: %s: the build has no context dir", ErrSourceNotFound, p)
			}
			m, err := bd.ctxTree.match(p)
			if err != nil {
				return false, err
			}
			c.srcs = append(c.srcs, m...)
		}
		if len(c.srcs) > 0 {
			if err := bd.ctxTree.hashSources(k, c.srcs, c.excl); err != nil {
				return false, err
			}
		}
	}
	mtime := bd.epoch
	if mtime.IsZero() {
		mtime = time.Unix(0, 0)
	}
	for _, hc := range cs.contents {
		data := hc.Data
		c.synths = append(c.synths, &synth{name: hc.Path, m: meta{mode: 0o644, mtime: mtime},
			open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(data)), nil }})
		k.add("heredoc", hc.Path, data)
	}
	key := k.sum()
	r.key = key
	if !bd.opts.NoCache {
		if e, blob, ok := bd.b.lookup(key); ok {
			r.addLayer(bd.layerFromCache(r, e, blob), e.Created, e.CreatedBy)
			return true, nil
		}
	}
	l, err := bd.snapshot(ctx, r.layers, func(rootfs string) error {
		if from == nil {
			return c.run(rootfs)
		}
		return bd.withMounted(ctx, from.layers, func(root string) error {
			c.src = &tree{root: root, keepOwner: true}
			return c.run(rootfs)
		})
	})
	if err != nil {
		return false, err
	}
	bd.finishStep(r, key, l, desc)
	return false, nil
}

func describeCopy(kw string, cs *copyStep) string {
	parts := []string{kw}
	if cs.from != "" {
		parts = append(parts, "--from="+cs.from)
	}
	if cs.chown != "" {
		parts = append(parts, "--chown="+cs.chown)
	}
	if cs.chmod != "" {
		parts = append(parts, "--chmod="+cs.chmod)
	}
	for _, e := range cs.excludes {
		parts = append(parts, "--exclude="+e)
	}
	if cs.unpack != nil {
		parts = append(parts, fmt.Sprintf("--unpack=%t", *cs.unpack))
	}
	for _, hc := range cs.contents {
		parts = append(parts, "<<"+hc.Path)
	}
	parts = append(parts, cs.sources...)
	return strings.Join(append(parts, cs.dest), " ")
}
