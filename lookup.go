package skiff

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/skiffrt/skiff/cgroup"
)

// lookup resolves a container name, full ID or unique ID prefix to its ID.
func (e *Engine) lookup(ref string) (string, error) {
	if ref == "" {
		return "", fmt.Errorf("%w: empty reference", ErrNotFound)
	}
	entries, err := os.ReadDir(filepath.Join(e.root, "containers"))
	if err != nil {
		return "", fmt.Errorf("list containers: %w", err)
	}
	var prefixed []string
	for _, ent := range entries {
		id := ent.Name()
		if strings.HasPrefix(id, ".") {
			continue
		}
		if id == ref {
			return id, nil
		}
		st, err := e.loadState(id)
		if err != nil {
			continue
		}
		if st.Name == ref {
			return id, nil
		}
		if strings.HasPrefix(id, ref) {
			prefixed = append(prefixed, id)
		}
	}
	switch len(prefixed) {
	case 1:
		return prefixed[0], nil
	case 0:
		return "", fmt.Errorf("%w: %s", ErrNotFound, ref)
	default:
		return "", fmt.Errorf("%w: %q matches %d containers", ErrNotFound, ref, len(prefixed))
	}
}

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
	st, err := e.loadState(id)
	if err != nil {
		return nil, err
	}
	c := &Container{e: e, st: st, waitDone: make(chan struct{})}
	if cg, err := cgroup.Load(st.Cgroup); err == nil {
		c.cg = cg
	}
	return c, nil
}

// Containers lists every container of the engine root, oldest first.
func (e *Engine) Containers(ctx context.Context) ([]*Container, error) {
	entries, err := os.ReadDir(filepath.Join(e.root, "containers"))
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var out []*Container
	for _, ent := range entries {
		if strings.HasPrefix(ent.Name(), ".") {
			continue
		}
		c, err := e.load(ent.Name())
		if err != nil {
			continue // half-created or being removed
		}
		out = append(out, c)
	}
	sortContainers(out)
	return out, nil
}

// nameTaken reports the ID of the container named exactly name, if any (an ID prefix is
// not a name: "db" may be taken as a name even when an ID starts with "db").
func (e *Engine) nameTaken(name string) (string, bool) {
	entries, err := os.ReadDir(filepath.Join(e.root, "containers"))
	if err != nil {
		return "", false
	}
	for _, ent := range entries {
		if strings.HasPrefix(ent.Name(), ".") {
			continue
		}
		if st, err := e.loadState(ent.Name()); err == nil && st.Name == name {
			return st.ID, true
		}
	}
	return "", false
}
