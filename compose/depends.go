package compose

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/errdefs"
)

// ErrDependencyFailed is returned when a service's dependency does not reach the
// condition depends_on asks for (it is unhealthy, or it exited with a failure).
var ErrDependencyFailed = errdefs.New(errdefs.ErrConflict, "dependency failed")

// Healthcheck defaults, as Docker's.
const (
	defaultInterval = 30 * time.Second
	defaultTimeout  = 30 * time.Second
	defaultRetries  = 3
)

// awaitDependencies waits until every dependency of s meets its depends_on condition.
// Dependencies are started before s (Up walks the dependency graph), so
// service_started holds already.
func (p *Project) awaitDependencies(ctx context.Context, proj *types.Project, s types.ServiceConfig) error {
	for _, name := range sortedKeys(s.DependsOn) {
		dep := s.DependsOn[name]
		ds, ok := proj.Services[name]
		if !ok {
			if !dep.Required {
				continue
			}
			return fmt.Errorf("%w: service %s depends on undefined service %s", ErrInvalidProject, s.Name, name)
		}
		cs, err := p.Containers(ctx, name)
		if err != nil {
			return err
		}
		for _, c := range cs {
			switch dep.Condition {
			case types.ServiceConditionHealthy:
				if err := p.awaitHealthy(ctx, ds, c); err != nil {
					return fmt.Errorf("service %s: %w", s.Name, err)
				}
				p.report("Container", c.Name, "Healthy")
			case types.ServiceConditionCompletedSuccessfully:
				st, err := c.Container.Wait(ctx)
				if err != nil {
					return fmt.Errorf("compose %s: wait %s: %w", proj.Name, c.Name, err)
				}
				if st.Code != 0 {
					return fmt.Errorf("%w: service %s: %s exited with code %d", ErrDependencyFailed, s.Name, c.Name, st.Code)
				}
				p.report("Container", c.Name, "Exited")
			}
		}
	}
	return nil
}

// awaitHealthy runs the healthcheck of service s in container c (by exec) until it
// passes: after start_period, every interval, failing after retries failures in a row
// or when the container stops running.
func (p *Project) awaitHealthy(ctx context.Context, s types.ServiceConfig, c ServiceContainer) error {
	hc := s.HealthCheck
	if hc == nil || hc.Disable || len(hc.Test) == 0 || hc.Test[0] == "NONE" {
		return fmt.Errorf("%w: %s has no healthcheck", ErrDependencyFailed, c.Name)
	}
	var cmd []string
	switch hc.Test[0] {
	case "CMD":
		cmd = hc.Test[1:]
	case "CMD-SHELL":
		cmd = []string{"/bin/sh", "-c", hc.Test[1]}
	default:
		cmd = []string{"/bin/sh", "-c", hc.Test[0]}
	}
	interval, timeout, retries := defaultInterval, defaultTimeout, uint64(defaultRetries)
	if hc.StartInterval != nil {
		interval = time.Duration(*hc.StartInterval)
	} else if hc.Interval != nil {
		interval = time.Duration(*hc.Interval)
	}
	if hc.Timeout != nil {
		timeout = time.Duration(*hc.Timeout)
	}
	if hc.Retries != nil {
		retries = *hc.Retries
	}
	var start time.Duration
	if hc.StartPeriod != nil {
		start = time.Duration(*hc.StartPeriod)
	}
	begun := time.Now()
	var failures uint64
	for {
		if st := c.Container.State(); st.Status != skiff.StatusRunning {
			return fmt.Errorf("%w: %s is %s", ErrDependencyFailed, c.Name, st.Status)
		}
		code, err := p.probe(ctx, c.Container, cmd, timeout)
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil && code == 0 {
			return nil
		}
		if time.Since(begun) >= start {
			failures++
			if failures >= retries {
				return fmt.Errorf("%w: %s is unhealthy (%d failed checks)", ErrDependencyFailed, c.Name, failures)
			}
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// probe runs one healthcheck command in c with a timeout and returns its exit code.
func (p *Project) probe(ctx context.Context, c *skiff.Container, cmd []string, timeout time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	proc, err := c.Exec(ctx, skiff.ExecConfig{Cmd: cmd, Stdout: io.Discard, Stderr: io.Discard})
	if err != nil {
		return -1, err
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			_ = proc.Signal(killSignal)
		case <-done:
		}
	}()
	return proc.Wait()
}
