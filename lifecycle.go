package skiff

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/sys/signal"

	"github.com/skiffrt/skiff/internal/lockfile"
)

// Kill sends sig to the container's init process (docker kill).
func (c *Container) Kill(ctx context.Context, sig syscall.Signal) error {
	st := c.State()
	if st.Status != StatusRunning && st.Status != StatusPaused {
		return &StateError{ID: st.ID, Op: "kill", From: st.Status, Want: "running"}
	}
	c.markStopped() // no restart policy runs it again (restart.go)
	if err := syscall.Kill(st.Pid, sig); err != nil {
		return fmt.Errorf("kill container %s (pid %d) with %s: %w", shortID(st.ID), st.Pid, sig, err)
	}
	c.e.emit(EventContainer, "kill", st.ID, containerEventAttrs(&st, "signal", strconv.Itoa(int(sig))))
	return nil
}

// ParseSignal parses a signal as Docker's CLI takes it: "TERM", "SIGTERM", "term",
// "RTMIN+3" or a number from 1 to 64; "" is SIGTERM. Anything else wraps ErrInvalidConfig.
func ParseSignal(s string) (syscall.Signal, error) {
	if s == "" {
		return syscall.SIGTERM, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 64 {
			return 0, fmt.Errorf("%w: signal %q: want 1 to 64", ErrInvalidConfig, s)
		}
		return syscall.Signal(n), nil
	}
	sig, err := signal.ParseSignal(strings.ToUpper(s))
	if err != nil {
		return 0, fmt.Errorf("%w: signal %q", ErrInvalidConfig, s)
	}
	return sig, nil
}

// DefaultStopTimeout is how long Stop given ConfigStopTimeout waits for a container
// whose config has no StopTimeout (Docker's 10 seconds).
const DefaultStopTimeout = 10 * time.Second

// ConfigStopTimeout, given to Stop or Restart as the timeout, waits as long as the
// container's ContainerConfig.StopTimeout says, DefaultStopTimeout when it is unset:
// docker stop without -t.
const ConfigStopTimeout time.Duration = math.MinInt64

// Stop asks the container to end with its stop signal (ContainerConfig.StopSignal,
// else the image's STOPSIGNAL, else SIGTERM), waits up to timeout, then kills every
// process of it (docker stop -t). A negative timeout waits without limit;
// ConfigStopTimeout waits the container's own StopTimeout. A container that is not
// running is left as it is.
func (c *Container) Stop(ctx context.Context, timeout time.Duration) error {
	c.markStopped() // no restart policy runs it again, a pending restart is called off (restart.go)
	st := c.State()
	switch st.Status {
	case StatusExited, StatusCreated: // as Docker: stopping what does not run is a no-op
		return nil
	}
	if timeout == ConfigStopTimeout {
		timeout = DefaultStopTimeout
		if st.Config != nil && st.Config.StopTimeout != nil {
			timeout = *st.Config.StopTimeout
		}
	}
	// Held while it stops: the monitor of an AutoRemove container removes it only
	// after this has seen the exit (see Hold).
	if release, err := c.Hold(); err == nil {
		defer release()
	}
	sig, err := ParseSignal(st.StopSignal)
	if err != nil {
		sig = syscall.SIGTERM
	}
	if err := syscall.Kill(st.Pid, sig); err != nil && err != syscall.ESRCH {
		return fmt.Errorf("stop container %s: %w", shortID(st.ID), err)
	}
	c.e.emit(EventContainer, "kill", st.ID, containerEventAttrs(&st, "signal", strconv.Itoa(int(sig))))
	defer func() {
		if c.State().Status == StatusExited {
			c.e.emit(EventContainer, "stop", st.ID, containerEventAttrs(&st))
		}
	}()
	if st.Status == StatusPaused {
		c.Resume(ctx) // a frozen process cannot act on the signal
	}
	wctx, cancel := context.WithCancel(ctx)
	if timeout >= 0 {
		wctx, cancel = context.WithTimeout(ctx, timeout)
	}
	defer cancel()
	if _, err := c.Wait(wctx); err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return c.killAll(ctx)
}

// killAll SIGKILLs every process of the container and waits for the exit.
func (c *Container) killAll(ctx context.Context) error {
	if c.cg != nil {
		if err := c.cg.Kill(); err != nil {
			return fmt.Errorf("kill container %s: %w", shortID(c.id), err)
		}
	} else if pid := c.State().Pid; pid > 0 {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := c.Wait(wctx)
	return err
}

// Pause freezes every process of the container (docker pause).
func (c *Container) Pause(ctx context.Context) error {
	return c.freeze(ctx, true)
}

// Resume thaws a paused container (docker unpause).
func (c *Container) Resume(ctx context.Context) error {
	return c.freeze(ctx, false)
}

func (c *Container) freeze(ctx context.Context, freeze bool) error {
	op, from, to := "unpause", StatusPaused, StatusRunning
	if freeze {
		op, from, to = "pause", StatusRunning, StatusPaused
	}
	lock, err := lockfile.Acquire(nil, filepath.Join(c.e.ctrs.path(c.id), "lock"), lockfile.Exclusive)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	st, err := c.e.ctrs.load(c.id)
	if err != nil {
		return err
	}
	if st.Status != from {
		return &StateError{ID: st.ID, Op: op, From: st.Status, Want: string(from)}
	}
	if c.cg == nil {
		return fmt.Errorf("%s container %s: no cgroup", op, shortID(st.ID))
	}
	if freeze {
		err = c.cg.Freeze(ctx)
	} else {
		err = c.cg.Thaw(ctx)
	}
	if err != nil {
		return fmt.Errorf("%s container %s: %w", op, shortID(st.ID), err)
	}
	st.Status = to
	c.e.ctrs.announce(from, st)
	if err := c.e.ctrs.save(st); err != nil {
		return err
	}
	c.mu.Lock()
	c.st = st
	c.mu.Unlock()
	return nil
}
