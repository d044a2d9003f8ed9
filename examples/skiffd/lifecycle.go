package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"github.com/skiffrt/skiff"
)

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
	return c.Start(ctx)
}

// containerWait answers when the container reaches the condition: not-running (the
// default; at once for a container that does not run), next-exit or removed. The
// library's Wait holds a --rm container until the exit code is read.
func (d *daemon) containerWait(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	c, err := d.container(r.Context(), ref)
	if err != nil {
		return err
	}
	var opts []skiff.WaitOption
	switch cond := r.URL.Query().Get("condition"); cond {
	case "", "not-running":
		if st := c.State(); st.Status == skiff.StatusExited || st.Status == skiff.StatusCreated {
			return writeJSON(w, http.StatusOK, map[string]any{"StatusCode": st.ExitCode, "Error": nil})
		}
	case "next-exit":
		opts = append(opts, skiff.UntilNextExit())
	case "removed":
		opts = append(opts, skiff.UntilRemoved())
	default:
		return errorf(http.StatusBadRequest, "invalid condition: %q", cond)
	}
	// Waiting from before the headers go out: the CLI starts the container once it
	// has them.
	ch, err := c.Await(r.Context(), opts...)
	if err != nil {
		return containerError(ref, err)
	}
	s := startStream(w, "application/json")
	res := <-ch
	if r.Context().Err() != nil {
		return nil
	}
	body := map[string]any{"StatusCode": res.Code, "Error": nil}
	if res.Err != nil {
		body["Error"] = map[string]string{"Message": res.Err.Error()}
	}
	data, err := json.Marshal(body)
	if err != nil {
		return nil
	}
	s.Write(append(data, '\n'))
	return nil
}

func (d *daemon) containerStop(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	ctx := context.WithoutCancel(r.Context())
	c, err := d.container(ctx, ref)
	if err != nil {
		return err
	}
	if st := c.State(); st.Status == skiff.StatusExited && !st.Restarting {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	// (Stopping a container its restart policy is about to run again calls that off.)
	if err := d.stop(ctx, c, r); err != nil {
		return containerError(ref, err)
	}
	return noContent(w)
}

func (d *daemon) stop(ctx context.Context, c *skiff.Container, r *http.Request) error {
	// Held, so that a --rm container's monitor removes it only once the stop has seen
	// the exit.
	if release, err := c.Hold(); err == nil {
		defer release()
	}
	timeout := stopTimeout(r)
	if s := r.URL.Query().Get("signal"); s != "" {
		sig, err := skiff.ParseSignal(s)
		if err != nil {
			return errorf(http.StatusBadRequest, "invalid signal: %s", s)
		}
		if err := c.Kill(ctx, sig); err == nil {
			wait := timeout
			if wait == skiff.ConfigStopTimeout {
				wait = skiff.DefaultStopTimeout
				if own := c.Config().StopTimeout; own != nil {
					wait = *own
				}
			}
			wctx, cancel := context.WithCancel(ctx)
			if wait >= 0 {
				wctx, cancel = context.WithTimeout(ctx, wait)
			}
			_, werr := c.Wait(wctx)
			cancel()
			if werr == nil {
				return nil
			}
		}
	}
	return c.Stop(ctx, timeout)
}

// stopTimeout reads the t of a stop or restart: seconds to wait before the kill,
// negative for no limit; without t, the container's own (docker create
// --stop-timeout, else 10 s).
func stopTimeout(r *http.Request) time.Duration {
	t, err := strconv.Atoi(r.URL.Query().Get("t"))
	switch {
	case err != nil:
		return skiff.ConfigStopTimeout
	case t < 0:
		return -1
	}
	return time.Duration(t) * time.Second
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
// under a monitor): the library's Restart, which marks the container restarting
// (State.Restarting) so that the monitor of a --rm container does not remove it.
func (d *daemon) containerRestart(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	ctx := context.WithoutCancel(r.Context())
	c, err := d.container(ctx, ref)
	if err != nil {
		return err
	}
	if err := c.Restart(ctx, stopTimeout(r)); err != nil {
		return containerError(ref, err)
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
