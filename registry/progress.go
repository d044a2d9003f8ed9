package registry

import (
	"sync"

	"github.com/opencontainers/go-digest"
)

// State is the state of one blob in a transfer.
type State int

// The states of a blob, in order. A blob goes Waiting → Downloading → Done, or straight
// to Exists when the store (or, when pushing, the registry) has it already, or to Failed.
const (
	Waiting     State = iota // queued, not started
	Downloading              // bytes are flowing (Done counts them); also used for uploads
	Exists                   // already present, skipped
	Done                     // complete and digest verified
	Failed                   // gave up; Progress.Err says why
)

func (s State) String() string {
	switch s {
	case Waiting:
		return "waiting"
	case Downloading:
		return "downloading"
	case Exists:
		return "exists"
	case Done:
		return "done"
	case Failed:
		return "failed"
	}
	return "unknown"
}

// Progress is one progress event for one blob (a layer, or the config) of an image being
// pulled or pushed.
type Progress struct {
	Ref       string        // normalized reference of the image
	Digest    digest.Digest // the blob
	MediaType string        // the blob's media type
	State     State
	Done      int64 // bytes transferred so far
	Total     int64 // blob size from the manifest
	Err       error // set when State == Failed
}

// reporter serializes calls to the user's callback and rate-limits byte events.
type reporter struct {
	mu sync.Mutex
	fn func(Progress)
}

func (r *reporter) send(p Progress) {
	if r == nil || r.fn == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fn(p)
}

// progressWriter counts bytes written through it and reports every step bytes.
type progressWriter struct {
	r    *reporter
	ev   Progress
	last int64
}

const progressStep = 256 << 10

func (w *progressWriter) Write(b []byte) (int, error) {
	w.ev.Done += int64(len(b))
	if w.ev.Done-w.last >= progressStep {
		w.last = w.ev.Done
		w.r.send(w.ev)
	}
	return len(b), nil
}
