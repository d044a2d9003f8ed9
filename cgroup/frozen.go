package cgroup

import (
	"fmt"
	"path/filepath"
)

// Frozen reports whether the kernel has the cgroup of m frozen (v1 freezer.state
// FROZEN, v2 cgroup.events "frozen 1"), as left by [Manager.Freeze] of this or another
// process. A cgroup still FREEZING is not frozen. On a host without a freezer it
// returns false and an error wrapping ErrNotSupported.
func Frozen(m Manager) (bool, error) {
	switch c := m.(type) {
	case *v1:
		f, err := c.file("frozen", "freezer", "freezer.state")
		if err != nil {
			return false, err
		}
		s, err := readFile(f)
		if err != nil {
			return false, newErr("frozen", c.path, f, err)
		}
		return s == "FROZEN", nil
	case *v2:
		f := filepath.Join(c.dir, "cgroup.events")
		v, ok, err := readKV(f, "frozen")
		if err == nil && !ok {
			err = fmt.Errorf("%w: no frozen line (kernel < 5.2)", ErrNotSupported)
		}
		if err != nil {
			return false, newErr("frozen", c.path, f, err)
		}
		return v == 1, nil
	}
	return false, fmt.Errorf("%w: frozen state of a %T", ErrNotSupported, m)
}
