package skiff

import (
	"context"
	"fmt"
)

// Rename gives the container a new name (docker rename): in its state, in the recorded
// config, and on its networks, where the /etc/hosts of every container sharing one
// with it (its own included) is rewritten. The name must be free and valid, as at
// Create; renaming to the current name is an error, as Docker's.
func (c *Container) Rename(ctx context.Context, name string) error {
	fail := func(err error) error { return fmt.Errorf("rename container %s: %w", shortID(c.id), err) }
	if !validName.MatchString(name) {
		return fail(fmt.Errorf("%w: Name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", ErrInvalidConfig, name))
	}
	unlock, err := c.e.lockRoot() // no Create takes the name meanwhile
	if err != nil {
		return fail(err)
	}
	defer unlock()
	if other, taken := c.e.ctrs.nameTaken(name); taken {
		if other == c.id {
			return fail(fmt.Errorf("%w: the container is already named %q", ErrInvalidConfig, name))
		}
		return fail(fmt.Errorf("%w: %q is used by container %s", ErrNameInUse, name, shortID(other)))
	}
	var old string
	st, err := c.e.ctrs.update(c.id, func(s *State) error {
		old = s.Name
		s.Name = name
		if s.Config != nil {
			s.Config.Name = name
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	c.mu.Lock()
	c.st = st
	c.mu.Unlock()
	if c.e.net != nil {
		peers, err := c.e.net.Rename(ctx, c.id, name)
		if err != nil {
			return fail(err)
		}
		c.e.refreshHosts(ctx, peers...)
	}
	c.e.emit(EventContainer, "rename", st.ID, containerEventAttrs(st, "oldName", "/"+old))
	return nil
}
