package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"

	"github.com/skiffrt/skiff/registry"
)

// progress renders registry progress events of one pull or push: a bar per blob
// (github.com/vbauerster/mpb) when out is a terminal, else one line per state change,
// as docker prints them ("0123456789ab: Pull complete").
type progress struct {
	mu       sync.Mutex
	out      io.Writer
	push     bool
	bars     *mpb.Progress // nil in plain mode
	finished bool
	blobs    map[string]*blobBar
}

type blobBar struct {
	bar   *mpb.Bar
	state registry.State
}

// newProgress returns a renderer for a pull (push false) or a push to out; call done
// when the transfer is over.
func newProgress(ctx context.Context, out io.Writer, push bool) *progress {
	p := &progress{out: out, push: push, blobs: map[string]*blobBar{}}
	// Bars need a terminal with a width (a pty nobody sized has 0 columns, and mpb
	// then draws nothing): anything else gets docker's plain lines.
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) && termWidth(f) > 0 {
		p.bars = mpb.NewWithContext(ctx, mpb.WithOutput(out), mpb.WithWidth(40), mpb.WithAutoRefresh())
	}
	return p
}

// update is the registry.WithProgress callback.
func (p *progress) update(ev registry.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	id := ev.Digest.Encoded()
	if len(id) > 12 {
		id = id[:12]
	}
	b := p.blobs[id]
	if b == nil {
		b = &blobBar{state: -1}
		p.blobs[id] = b
		if p.bars != nil {
			b.bar = p.bars.AddBar(ev.Total,
				mpb.PrependDecorators(decor.Name(id+": ", decor.WC{W: 14}),
					decor.Any(func(decor.Statistics) string { return p.word(b.state) }, decor.WC{W: 20, C: decor.DindentRight})),
				mpb.AppendDecorators(decor.OnComplete(decor.CountersKibiByte("% .1f / % .1f"), "")),
				mpb.BarFillerClearOnComplete())
		}
	}
	if b.bar != nil {
		switch ev.State {
		case registry.Downloading:
			b.bar.SetCurrent(ev.Done)
		case registry.Done, registry.Exists:
			b.bar.SetTotal(ev.Total, true)
		case registry.Failed:
			b.bar.Abort(false)
		}
	}
	if ev.State == b.state {
		return
	}
	b.state = ev.State
	if p.bars == nil && ev.State != registry.Downloading {
		fmt.Fprintf(p.out, "%s: %s\n", id, p.word(ev.State))
	}
}

// word is docker's wording of a blob state.
func (p *progress) word(s registry.State) string {
	switch s {
	case registry.Waiting:
		if p.push {
			return "Preparing"
		}
		return "Pulling fs layer"
	case registry.Downloading:
		if p.push {
			return "Pushing"
		}
		return "Downloading"
	case registry.Exists:
		if p.push {
			return "Layer already exists"
		}
		return "Already exists"
	case registry.Done:
		if p.push {
			return "Pushed"
		}
		return "Pull complete"
	case registry.Failed:
		return "Failed"
	}
	return ""
}

// done waits for the bars to be drawn a last time. It may be called more than once.
func (p *progress) done() {
	if p.bars == nil || p.finished {
		return
	}
	p.mu.Lock()
	for _, b := range p.blobs {
		if !b.bar.Completed() && !b.bar.Aborted() {
			b.bar.Abort(false)
		}
	}
	p.mu.Unlock()
	p.bars.Wait()
	p.finished = true
}

func termWidth(f *os.File) int {
	w, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	return w
}
