package compose

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/skiffrt/skiff"
)

// defaultStopTimeout is docker compose's stop grace period.
const defaultStopTimeout = 10 * time.Second

func stopTimeout(s types.ServiceConfig) time.Duration {
	if s.StopGracePeriod != nil {
		return time.Duration(*s.StopGracePeriod)
	}
	return defaultStopTimeout
}

// DownOptions are docker compose down's.
type DownOptions struct {
	// Volumes removes the project's named volumes too (-v).
	Volumes bool
	// Timeout, when not nil, replaces every service's stop grace period (-t).
	Timeout *time.Duration
}

// Down stops and removes the project's containers (every container labeled with the
// project, services no longer in the file included), then its networks and, with
// Volumes, its named volumes. External networks and volumes are left alone. Errors do
// not stop it: it removes what it can and returns them all joined.
func (p *Project) Down(ctx context.Context, opts DownOptions) error {
	cs, err := p.Containers(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for i := len(cs) - 1; i >= 0; i-- { // reverse: dependents before what they depend on
		c := cs[i]
		timeout := defaultStopTimeout
		if s, ok := p.p.Services[c.Service]; ok {
			timeout = stopTimeout(s)
		}
		if opts.Timeout != nil {
			timeout = *opts.Timeout
		}
		errs = append(errs, p.remove(ctx, c, timeout, opts.Volumes))
	}
	nets, err := p.networks(ctx)
	errs = append(errs, err)
	for _, n := range nets {
		if err := p.e.RemoveNetwork(ctx, n.ID); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("compose %s: %w", p.p.Name, err))
			continue
		}
		p.report("Network", n.Name, "Removed")
	}
	if opts.Volumes {
		errs = append(errs, p.removeVolumes(ctx))
	}
	return errors.Join(errs...)
}

// removeVolumes removes the project's volumes: those labeled with it and the named
// volumes of the file that are not external.
func (p *Project) removeVolumes(ctx context.Context) error {
	vols, err := p.e.Volumes(ctx)
	if err != nil {
		return err
	}
	names := map[string]bool{}
	for _, v := range vols {
		if v.Labels[LabelProject] == p.p.Name {
			names[v.Name] = true
		}
	}
	for _, vc := range p.p.Volumes {
		if !vc.External {
			names[vc.Name] = true
		}
	}
	var errs []error
	for _, name := range sortedKeys(names) {
		err := p.e.RemoveVolume(ctx, name, skiff.RemoveVolumeOptions{})
		switch {
		case err == nil:
			p.report("Volume", name, "Removed")
		case !isNotFound(err):
			errs = append(errs, fmt.Errorf("compose %s: %w", p.p.Name, err))
		}
	}
	return errors.Join(errs...)
}

// remove stops (within timeout) and deletes one container.
func (p *Project) remove(ctx context.Context, c ServiceContainer, timeout time.Duration, volumes bool) error {
	if st := c.Container.State(); st.Status == skiff.StatusRunning || st.Status == skiff.StatusPaused {
		if err := c.Container.Stop(ctx, timeout); err != nil && !isNotFound(err) {
			return fmt.Errorf("compose %s: stop %s: %w", p.p.Name, c.Name, err)
		}
		p.report("Container", c.Name, "Stopped")
	}
	opts := []skiff.DeleteOption{skiff.WithForce()}
	if volumes {
		opts = append(opts, skiff.WithVolumes())
	}
	if err := c.Container.Delete(ctx, opts...); err != nil && !isNotFound(err) {
		return fmt.Errorf("compose %s: remove %s: %w", p.p.Name, c.Name, err)
	}
	p.report("Container", c.Name, "Removed")
	return nil
}

// Stop stops the project's containers (of the given services, or all) within each
// service's stop grace period, or timeout when not nil (docker compose stop), and
// leaves them in place.
func (p *Project) Stop(ctx context.Context, timeout *time.Duration, services ...string) error {
	cs, err := p.Containers(ctx, services...)
	if err != nil {
		return err
	}
	var errs []error
	for i := len(cs) - 1; i >= 0; i-- {
		c := cs[i]
		if st := c.Container.State(); st.Status != skiff.StatusRunning && st.Status != skiff.StatusPaused {
			continue
		}
		t := defaultStopTimeout
		if s, ok := p.p.Services[c.Service]; ok {
			t = stopTimeout(s)
		}
		if timeout != nil {
			t = *timeout
		}
		if err := c.Container.Stop(ctx, t); err != nil {
			errs = append(errs, fmt.Errorf("compose %s: stop %s: %w", p.p.Name, c.Name, err))
			continue
		}
		p.report("Container", c.Name, "Stopped")
	}
	return errors.Join(errs...)
}
