package main

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/skiffrt/skiff"
)

// watch is one wait for a container's next exit; done closes when it exited (and,
// with --rm, was removed).
type watch struct {
	done    chan struct{}
	once    sync.Once
	started bool
	code    int
	err     string
	// removeErr is set when --rm could not remove the container.
	removeErr string
}

// watchFor returns the pending watch of container id, making one.
func (d *daemon) watchFor(id string) *watch {
	d.mu.Lock()
	defer d.mu.Unlock()
	w := d.watches[id]
	if w == nil {
		w = &watch{done: make(chan struct{})}
		d.watches[id] = w
	}
	return w
}

// ensureWatching makes sure a goroutine waits for container id to exit, records its
// exit code for the waiters and removes it when it was created with --rm.
func (d *daemon) ensureWatching(id string) *watch {
	w := d.watchFor(id)
	d.mu.Lock()
	start := !w.started
	w.started = true
	d.mu.Unlock()
	if start {
		go d.runWatch(id, w)
	}
	return w
}

func (d *daemon) runWatch(id string, w *watch) {
	ctx := context.Background()
	code := d.pollExit(ctx, id)
	d.mu.Lock()
	restarting := d.restarting[id]
	d.mu.Unlock()
	if d.loadMeta(id).Config.HostConfig.AutoRemove && !restarting {
		// Let attached clients read the end of the log first.
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			d.mu.Lock()
			n := d.attached[id]
			d.mu.Unlock()
			if n == 0 {
				break
			}
		}
		for try := 0; try < 5; try++ {
			c, err := d.e.Container(ctx, id)
			if err != nil {
				break // gone
			}
			err = d.deleteContainer(ctx, c, skiff.WithForce())
			if err == nil {
				break
			}
			d.log.Warn("auto-remove", "container", id[:12], "try", try, "err", err)
			w.removeErr = err.Error()
			time.Sleep(time.Duration(try+1) * 100 * time.Millisecond)
		}
	}
	d.mu.Lock()
	if d.watches[id] == w {
		delete(d.watches, id)
	}
	d.mu.Unlock()
	w.code = code
	close(w.done)
}

// pollExit waits for a detached container (run by its monitor) to exit, or to be
// removed, and returns its exit code.
func (d *daemon) pollExit(ctx context.Context, id string) int {
	code := 0
	for {
		c, err := d.e.Container(ctx, id)
		if err != nil {
			return code
		}
		st := c.State()
		code = st.ExitCode
		if st.Status == skiff.StatusExited {
			return code
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// recover picks up after a previous skiffd: it forgets containers removed meanwhile,
// removes exited --rm ones and watches running --rm ones.
func (d *daemon) recover(ctx context.Context) {
	cs, err := d.e.Containers(ctx)
	if err != nil {
		return
	}
	for _, c := range cs {
		st := c.State()
		m := d.loadMeta(st.ID)
		if !m.Config.HostConfig.AutoRemove {
			continue
		}
		switch st.Status {
		case skiff.StatusExited:
			d.deleteContainer(ctx, c, skiff.WithForce())
		case skiff.StatusRunning, skiff.StatusPaused:
			d.ensureWatching(st.ID)
		}
	}
}

func (d *daemon) containerStart(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	ctx := context.WithoutCancel(r.Context())
	c, err := d.container(ctx, ref)
	if err != nil {
		return err
	}
	if err := d.start(ctx, c); err != nil {
		var se *skiff.StateError
		if errors.As(err, &se) && (se.From == skiff.StatusRunning || se.From == skiff.StatusPaused) {
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
		return err
	}
	return noContent(w)
}

func (d *daemon) start(ctx context.Context, c *skiff.Container) error {
	if err := c.Start(ctx); err != nil {
		return err
	}
	d.ensureWatching(c.ID())
	return nil
}

func (d *daemon) containerWait(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	c, err := d.container(r.Context(), ref)
	if err != nil {
		return err
	}
	cond := r.URL.Query().Get("condition")
	st := c.State()
	var wt *watch
	switch {
	case cond == "" || cond == "not-running":
		if st.Status == skiff.StatusExited || st.Status == skiff.StatusCreated {
			return writeJSON(w, http.StatusOK, map[string]any{"StatusCode": st.ExitCode, "Error": nil})
		}
		wt = d.ensureWatching(st.ID)
	case st.Status == skiff.StatusRunning || st.Status == skiff.StatusPaused:
		wt = d.ensureWatching(st.ID)
	default:
		wt = d.watchFor(st.ID)
	}
	// The CLI sends start only once it has the headers: flush them now.
	s := startStream(w, "application/json")
	select {
	case <-wt.done:
	case <-r.Context().Done():
		return nil
	}
	if cond == "removed" {
		for wt.removeErr == "" {
			if _, err := d.e.Container(r.Context(), st.ID); err != nil {
				break
			}
			select {
			case <-r.Context().Done():
				return nil
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	var e any
	if wt.err != "" {
		e = map[string]string{"Message": wt.err}
	}
	data := []byte(`{"StatusCode":` + strconv.Itoa(wt.code) + `,"Error":`)
	if e == nil {
		data = append(data, "null}\n"...)
		s.Write(data)
		return nil
	}
	s.Write(append(data, `{"Message":`+strconv.Quote(wt.err)+"}}\n"...))
	return nil
}

func (d *daemon) containerStop(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	ctx := context.WithoutCancel(r.Context())
	c, err := d.container(ctx, ref)
	if err != nil {
		return err
	}
	if c.State().Status == skiff.StatusExited {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	if err := d.stop(ctx, c, r); err != nil {
		return containerError(ref, err)
	}
	return noContent(w)
}

func (d *daemon) stop(ctx context.Context, c *skiff.Container, r *http.Request) error {
	timeout := 10 * time.Second
	if t, err := strconv.Atoi(r.URL.Query().Get("t")); err == nil {
		timeout = time.Duration(t) * time.Second
		if t < 0 {
			timeout = time.Hour
		}
	}
	if s := r.URL.Query().Get("signal"); s != "" {
		sig, err := skiff.ParseSignal(s)
		if err != nil {
			return errorf(http.StatusBadRequest, "invalid signal: %s", s)
		}
		if err := c.Kill(ctx, sig); err == nil {
			wctx, cancel := context.WithTimeout(ctx, timeout)
			_, werr := c.Wait(wctx)
			cancel()
			if werr == nil {
				return nil
			}
		}
	}
	return c.Stop(ctx, timeout)
}

func (d *daemon) containerKill(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	ctx := r.Context()
	c, err := d.container(ctx, ref)
	if err != nil {
		return err
	}
	s := r.URL.Query().Get("signal")
	sig := syscall.SIGKILL
	if s != "" {
		if sig, err = skiff.ParseSignal(s); err != nil {
			return errorf(http.StatusBadRequest, "invalid signal: %s", s)
		}
	}
	if st := c.State(); st.Status != skiff.StatusRunning && st.Status != skiff.StatusPaused {
		return errorf(http.StatusConflict, "cannot kill container: %s: container %s is not running", ref, st.ID[:12])
	}
	if err := c.Kill(ctx, sig); err != nil {
		return containerError(ref, err)
	}
	if sig == syscall.SIGKILL { // as docker: the container is dead when kill returns
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		c.Wait(wctx)
		cancel()
	}
	return noContent(w)
}

// containerRestart stops the container and starts it again (the same container,
// under a monitor).
func (d *daemon) containerRestart(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	ctx := context.WithoutCancel(r.Context())
	c, err := d.container(ctx, ref)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.restarting[c.ID()] = true
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		delete(d.restarting, c.ID())
		d.mu.Unlock()
	}()
	if st := c.State().Status; st == skiff.StatusRunning || st == skiff.StatusPaused {
		if err := d.stop(ctx, c, r); err != nil {
			return err
		}
		// Let the watch of this run record its exit before the next run starts.
		d.mu.Lock()
		wt := d.watches[c.ID()]
		d.mu.Unlock()
		if wt != nil && wt.started {
			select {
			case <-wt.done:
			case <-time.After(5 * time.Second):
			}
		}
	}
	if err := d.start(ctx, c); err != nil {
		return err
	}
	return noContent(w)
}

func (d *daemon) containerPause(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	c, err := d.container(r.Context(), ref)
	if err != nil {
		return err
	}
	if err := c.Pause(r.Context()); err != nil {
		var se *skiff.StateError
		if errors.As(err, &se) {
			return errorf(http.StatusConflict, "container %s is not running", ref)
		}
		return err
	}
	return noContent(w)
}

func (d *daemon) containerUnpause(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	c, err := d.container(r.Context(), ref)
	if err != nil {
		return err
	}
	if err := c.Resume(r.Context()); err != nil {
		var se *skiff.StateError
		if errors.As(err, &se) {
			return errorf(http.StatusConflict, "container %s is not paused", ref)
		}
		return err
	}
	return noContent(w)
}

func (d *daemon) containerResize(w http.ResponseWriter, r *http.Request) error {
	c, err := d.container(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	h, _ := strconv.Atoi(r.URL.Query().Get("h"))
	wd, _ := strconv.Atoi(r.URL.Query().Get("w"))
	if h > 0 && wd > 0 {
		c.Resize(uint16(h), uint16(wd)) // fails, ignored, without a terminal
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
