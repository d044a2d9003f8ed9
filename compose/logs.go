package compose

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/skiffrt/skiff"
)

// LogsOptions are docker compose logs'.
type LogsOptions struct {
	// Services limits the output to these services. Default: all.
	Services []string
	// Log are the per-container options (Follow, Tail, Timestamps, Since).
	Log skiff.LogOptions
	// NoPrefix leaves out the "name  | " prefix of each line (--no-log-prefix).
	NoPrefix bool
}

// Logs writes the logs of the project's containers to w, each line prefixed with its
// container's name as docker compose does; with Log.Follow it keeps writing until
// every container exits or ctx ends. Lines of different containers never interleave.
func (p *Project) Logs(ctx context.Context, w io.Writer, opts LogsOptions) error {
	cs, err := p.Containers(ctx, opts.Services...)
	if err != nil {
		return err
	}
	width := 0
	for _, c := range cs {
		width = max(width, len(c.Name))
	}
	var mu sync.Mutex
	g, ctx := errgroup.WithContext(ctx)
	for _, c := range cs {
		prefix := ""
		if !opts.NoPrefix {
			prefix = fmt.Sprintf("%-*s | ", width, c.Name)
		}
		lw := &lineWriter{mu: &mu, w: w, prefix: []byte(prefix)}
		run := func() error {
			defer lw.flush()
			if err := c.Container.Logs(ctx, opts.Log, lw, lw); err != nil && !isNotFound(err) {
				return fmt.Errorf("compose %s: logs of %s: %w", p.p.Name, c.Name, err)
			}
			return nil
		}
		if opts.Log.Follow {
			g.Go(run)
		} else if err := run(); err != nil {
			return err
		}
	}
	return g.Wait()
}

// lineWriter writes whole lines to w under mu, each after prefix.
type lineWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix []byte
	buf    []byte
}

func (l *lineWriter) Write(b []byte) (int, error) {
	l.buf = append(l.buf, b...)
	i := bytes.LastIndexByte(l.buf, '\n')
	if i < 0 {
		return len(b), nil
	}
	var out []byte
	for _, line := range bytes.SplitAfter(l.buf[:i+1], []byte("\n")) {
		if len(line) > 0 {
			out = append(append(out, l.prefix...), line...)
		}
	}
	l.buf = append(l.buf[:0], l.buf[i+1:]...)
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.w.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (l *lineWriter) flush() {
	if len(l.buf) > 0 {
		_, _ = l.Write([]byte("\n"))
	}
}

// Exec runs cfg in replica index (from 1) of service (docker compose exec) and
// returns the command's exit code.
func (p *Project) Exec(ctx context.Context, service string, index int, cfg skiff.ExecConfig) (int, error) {
	c, err := p.Container(ctx, service, index)
	if err != nil {
		return -1, err
	}
	if cfg.WorkingDir == "" {
		if s, ok := p.p.Services[service]; ok {
			cfg.WorkingDir = s.WorkingDir
		}
	}
	proc, err := c.Exec(ctx, cfg)
	if err != nil {
		return -1, fmt.Errorf("compose %s: exec in %s: %w", p.p.Name, c.Name(), err)
	}
	return proc.Wait()
}
