package skiff

import (
	"context"
	"fmt"

	"github.com/skiffrt/skiff/cgroup"
)

// UpdateConfig is what Container.Update changes.
type UpdateConfig struct {
	// Resources: every non-zero field replaces the container's limit; zero fields keep
	// theirs.
	Resources Resources
	// RestartPolicy, when set, replaces the container's restart policy.
	RestartPolicy *RestartPolicy
}

// Update changes the container's cgroup limits while it runs, and its restart policy
// (docker update). The new settings are recorded, so a restart applies them again. A
// limit the kernel refuses (a memory limit below what the container uses, say) leaves
// the container's limits as they were.
func (c *Container) Update(ctx context.Context, u UpdateConfig) error {
	r := u.Resources
	fail := func(err error) error { return fmt.Errorf("update container %s: %w", shortID(c.id), err) }
	op, err := c.e.ctrs.lockOp(c.id)
	if err != nil {
		return fail(err)
	}
	defer op.Unlock()
	st, err := c.e.ctrs.load(c.id)
	if err != nil {
		return fail(err)
	}
	merged := mergeResources(st.Resources, r)
	if err := merged.Validate(); err != nil {
		return fail(fmt.Errorf("%w: %w", ErrInvalidConfig, err))
	}
	if u.RestartPolicy != nil {
		cfg := ContainerConfig{Detach: st.Detached, AutoRemove: st.AutoRemove}
		if err := u.RestartPolicy.validate(&cfg); err != nil {
			return fail(err)
		}
	}
	if st.Cgroup != "" && st.Status != StatusExited {
		cg, err := cgroup.Load(st.Cgroup)
		if err != nil {
			return fail(err)
		}
		if err := cg.Update(merged); err != nil {
			cg.Update(st.Resources) // put back what a partial write changed
			return fail(err)
		}
	}
	ns, err := c.e.ctrs.update(c.id, func(s *State) error {
		s.Resources = merged
		if s.Config != nil {
			s.Config.Resources = merged // inspect shows what applies now, as Docker's
		}
		if u.RestartPolicy != nil {
			if s.Config == nil {
				s.Config = &ContainerConfig{}
			}
			s.Config.RestartPolicy = *u.RestartPolicy
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	c.mu.Lock()
	c.st = ns
	c.mu.Unlock()
	c.e.emit(EventContainer, "update", ns.ID, containerEventAttrs(ns))
	return nil
}

// mergeResources returns old with every non-zero field of r put in.
func mergeResources(old, r Resources) Resources {
	if r.MemoryLimit != 0 {
		old.MemoryLimit = r.MemoryLimit
		if r.MemorySwap == 0 && old.MemorySwap > 0 && old.MemorySwap < r.MemoryLimit {
			old.MemorySwap = 0 // as Docker: the swap limit follows a memory limit raised past it
		}
	}
	if r.MemorySwap != 0 {
		old.MemorySwap = r.MemorySwap
	}
	if r.PidsLimit != 0 {
		old.PidsLimit = r.PidsLimit
	}
	if r.CPUQuota != 0 {
		old.CPUQuota = r.CPUQuota
	}
	if r.CPUPeriod != 0 {
		old.CPUPeriod = r.CPUPeriod
	}
	if r.CPUShares != 0 {
		old.CPUShares = r.CPUShares
	}
	return old
}
