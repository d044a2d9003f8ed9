package compose

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/errdefs"
)

// ErrDependencyFailed is returned when a service's dependency does not reach the
// condition depends_on asks for (it is unhealthy, or it exited with a failure).
var ErrDependencyFailed = errdefs.New(errdefs.ErrConflict, "dependency failed")

// awaitDependencies waits until every dependency of s meets its depends_on condition.
// Dependencies are started before s (Up walks the dependency graph), so
// service_started holds already.
func (p *Project) awaitDependencies(ctx context.Context, proj *types.Project, s types.ServiceConfig) error {
	for _, name := range sortedKeys(s.DependsOn) {
		dep := s.DependsOn[name]
		if _, ok := proj.Services[name]; !ok {
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
				if err := p.awaitHealthy(ctx, c); err != nil {
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

// errSeen ends an events stream at the first event.
var errSeen = errors.New("event seen")

// awaitHealthy waits until the engine's health check of c reports healthy (the
// container's monitor probes it): it fails when the check reports unhealthy, the
// container stops running, or it has no health check.
func (p *Project) awaitHealthy(ctx context.Context, c ServiceContainer) error {
	for {
		since := time.Now()
		st := c.Container.State()
		switch {
		case st.Config == nil || !st.Config.Healthcheck.Enabled():
			return fmt.Errorf("%w: %s has no healthcheck", ErrDependencyFailed, c.Name)
		case st.Status != skiff.StatusRunning:
			return fmt.Errorf("%w: %s is %s", ErrDependencyFailed, c.Name, st.Status)
		case st.Health != nil && st.Health.Status == skiff.HealthHealthy:
			return nil
		case st.Health != nil && st.Health.Status == skiff.HealthUnhealthy && !staleHealth(st):
			return fmt.Errorf("%w: %s is unhealthy", ErrDependencyFailed, c.Name)
		}
		// Wait for the container's next event (health_status, die, ...), replayed from
		// just before the state was read so that none is missed.
		err := p.e.Events(ctx, skiff.EventsOptions{Since: since, Filter: skiff.EventFilter{
			Types: []skiff.EventType{skiff.EventContainer}, Containers: []string{c.Container.ID()},
		}}, func(skiff.Event) error { return errSeen })
		if !errors.Is(err, errSeen) {
			if err == nil {
				err = ctx.Err()
			}
			return fmt.Errorf("compose %s: await health of %s: %w", p.p.Name, c.Name, err)
		}
	}
}

// staleHealth reports whether st.Health is left from before the container's current
// run (a container that exited is unhealthy until its monitor starts probing again):
// no probe of this run has ended yet.
func staleHealth(st skiff.State) bool {
	h := st.Health
	return len(h.Log) == 0 || h.Log[len(h.Log)-1].Start.Before(st.Started)
}
