package main

import (
	"io"
	"os"
	"sync"

	"github.com/skiffrt/skiff"
)

// ownedContainer is a container skiffd itself created and reaps, because its stdin is
// open (docker run -i, with or without -t): the library's detached containers have no
// stdin. skiffd holds the write end of its stdin and fans its output out to the
// attached clients. Such a container does not survive a restart of skiffd (its init
// dies with its parent); every other container runs under its monitor and does.
type ownedContainer struct {
	c         *skiff.Container
	tty       bool
	stdinOnce bool
	stdinR    *os.File
	stdinW    *os.File
	closeIn   sync.Once
	hub       *hub
}

// newOwned wires cfg's streams to a new ownedContainer.
func newOwned(cfg *skiff.ContainerConfig, tty, stdinOnce bool) (*ownedContainer, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	oc := &ownedContainer{tty: tty, stdinOnce: stdinOnce, stdinR: r, stdinW: w, hub: newHub()}
	cfg.Stdin = r
	cfg.Stdout = oc.hub.stream(streamStdout)
	cfg.Stderr = oc.hub.stream(streamStderr)
	return oc, nil
}

// closeStdin ends the container's stdin (once).
func (oc *ownedContainer) closeStdin() {
	oc.closeIn.Do(func() { oc.stdinW.Close() })
}

// finish runs when the container exited: its output is complete.
func (oc *ownedContainer) finish() {
	oc.hub.close()
	oc.closeStdin()
}

func (oc *ownedContainer) closeStreams() {
	oc.closeStdin()
	oc.stdinR.Close()
	oc.hub.close()
}

// hub copies a container's output to every attached client.
type hub struct {
	mu     sync.Mutex
	subs   map[*framer]bool // framer → also stderr
	done   chan struct{}
	closed bool
}

func newHub() *hub { return &hub{subs: map[*framer]bool{}, done: make(chan struct{})} }

func (h *hub) stream(t byte) io.Writer { return hubStream{h, t} }

type hubStream struct {
	h *hub
	t byte
}

func (s hubStream) Write(p []byte) (int, error) {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	for f := range s.h.subs {
		if err := f.write(s.t, p); err != nil {
			delete(s.h.subs, f) // a client that went away
		}
	}
	return len(p), nil
}

// subscribe sends the output to f until the returned function is called.
func (h *hub) subscribe(f *framer) func() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.subs[f] = true
	return func() {
		h.mu.Lock()
		delete(h.subs, f)
		h.mu.Unlock()
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		close(h.done)
	}
}
