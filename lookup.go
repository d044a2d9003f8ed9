package skiff

import (
	"context"

	"github.com/skiffrt/skiff/cgroup"
)

func (e *Engine) lookup(ref string) (string, error) { return e.ctrs.lookup(ref) }

// Container finds a container by name, full ID or unique ID prefix, also one created
// by another process on the same root.
func (e *Engine) Container(ctx context.Context, ref string) (*Container, error) {
	id, err := e.lookup(ref)
	if err != nil {
		return nil, err
	}
	return e.load(id)
}

func (e *Engine) load(id string) (*Container, error) {
	st, err := e.ctrs.load(id)
	if err != nil {
		return nil, err
	}
	return e.newContainer(st), nil
}

// newContainer is the handle of a container this process did not create (or no
// longer holds the process of): it controls it through its state and cgroup.
func (e *Engine) newContainer(st *State) *Container {
	c := &Container{e: e, id: st.ID, st: st, waitDone: make(chan struct{})}
	if cg, err := cgroup.Load(st.Cgroup); err == nil {
		c.cg = cg
	}
	return c
}

// Containers lists every container of the engine root, oldest first.
func (e *Engine) Containers(ctx context.Context) ([]*Container, error) {
	states, err := e.ctrs.list()
	if err != nil {
		return nil, err
	}
	out := make([]*Container, 0, len(states))
	for _, st := range states {
		out = append(out, e.newContainer(st))
	}
	return out, nil
}

func (e *Engine) nameTaken(name string) (string, bool) { return e.ctrs.nameTaken(name) }
