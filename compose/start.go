package compose

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/compose-spec/compose-go/v2/graph"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/skiffrt/skiff"
)

// Start starts the project's existing containers that are not running (of the given
// services, or all), in dependency order and waiting for each dependency's depends_on
// condition as Up does (docker compose start). It creates nothing.
func (p *Project) Start(ctx context.Context, services ...string) error {
	return graph.InDependencyOrder(ctx, p.p, func(ctx context.Context, name string, s types.ServiceConfig) error {
		if len(services) > 0 && !slices.Contains(services, name) {
			return nil
		}
		if err := p.awaitDependencies(ctx, p.p, s); err != nil {
			return err
		}
		cs, err := p.Containers(ctx, name)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if c.State.Status == skiff.StatusRunning || c.State.Status == skiff.StatusPaused {
				continue
			}
			if err := c.Container.Start(ctx); err != nil {
				return fmt.Errorf("compose %s: start %s: %w", p.p.Name, c.Name, err)
			}
			p.report("Container", c.Name, "Started")
		}
		return nil
	}, graph.WithMaxConcurrency(1))
}

// Restart stops then starts the project's containers (of the given services, or all):
// docker compose restart. timeout, when not nil, replaces the stop grace periods.
func (p *Project) Restart(ctx context.Context, timeout *time.Duration, services ...string) error {
	if err := p.Stop(ctx, timeout, services...); err != nil {
		return err
	}
	return p.Start(ctx, services...)
}
