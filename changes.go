package skiff

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	godigest "github.com/opencontainers/go-digest"
)

// ChangeKind says how a path of a container differs from its image. The values are
// Docker's.
type ChangeKind int

// The kinds of Change (docker diff prints C, A and D).
const (
	ChangeModify ChangeKind = 0 // the path exists in the image and was changed
	ChangeAdd    ChangeKind = 1 // the path is new
	ChangeDelete ChangeKind = 2 // the path of the image was removed
)

// String is the letter docker diff prints.
func (k ChangeKind) String() string {
	switch k {
	case ChangeModify:
		return "C"
	case ChangeAdd:
		return "A"
	case ChangeDelete:
		return "D"
	}
	return "?"
}

// Change is one path of a container that differs from its image.
type Change struct {
	Path string     // absolute in the container
	Kind ChangeKind // modified, added or deleted
}

// Changes lists what the container changed of its image's files (docker diff), read
// from its overlay upper dir: every path there is added, or modified when the image
// has it; an overlay whiteout is a deletion. The mount points the engine makes for
// the container (/etc/hosts, ...) are left out, as are directories changed only to
// hold them. The list is in path order.
func (c *Container) Changes(ctx context.Context) ([]Change, error) {
	st := c.State()
	if c.isRemoved() {
		return nil, fmt.Errorf("changes of container %s: %w", shortID(c.id), ErrNotFound)
	}
	spec, err := c.e.loadSpec(c.id)
	if err != nil {
		return nil, err
	}
	engineMade := map[string]bool{}
	for _, m := range spec.Mounts {
		engineMade[filepath.Clean(m.Destination)] = true
	}
	var lowers []*os.Root // top layer first
	defer func() {
		for _, r := range lowers {
			r.Close()
		}
	}()
	for i := len(st.Layers) - 1; i >= 0; i-- {
		r, err := os.OpenRoot(c.e.layers.Dir(godigest.Digest(st.Layers[i])))
		if err != nil {
			return nil, fmt.Errorf("changes of container %s: %w", shortID(c.id), err)
		}
		lowers = append(lowers, r)
	}
	upper := filepath.Join(c.e.ctrs.path(c.id), "upper")
	var out []Change
	hidden := map[string]bool{} // dirs holding an engine-made mount point
	err = filepath.WalkDir(upper, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(upper, p)
		if rel == "." {
			return nil
		}
		abs := "/" + rel
		if engineMade[abs] {
			for dir := filepath.Dir(abs); dir != "/"; dir = filepath.Dir(dir) {
				hidden[dir] = true
			}
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		kind := ChangeAdd
		if isWhiteout(d, p) {
			kind = ChangeDelete
		} else if inLowers(lowers, rel) {
			kind = ChangeModify
		}
		out = append(out, Change{Path: abs, Kind: kind})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("changes of container %s: %w", shortID(c.id), err)
	}
	// A directory modified only to hold the engine's mount points is no change.
	kept := out[:0]
	for i, ch := range out {
		if ch.Kind == ChangeModify && hidden[ch.Path] && !hasChild(out[i+1:], ch.Path) {
			continue
		}
		kept = append(kept, ch)
	}
	return kept, nil
}

// hasChild reports whether a change below dir follows in the (path-ordered) list.
func hasChild(rest []Change, dir string) bool {
	for _, ch := range rest {
		if strings.HasPrefix(ch.Path, dir+"/") {
			return true
		}
	}
	return false
}

// isWhiteout reports whether the upper dir entry at p is an overlay whiteout: a
// character device 0/0.
func isWhiteout(d fs.DirEntry, p string) bool {
	if d.Type()&fs.ModeCharDevice == 0 {
		return false
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Rdev == 0
}

// inLowers reports whether rel exists in the image: in the topmost layer that has
// it, as anything but a whiteout.
func inLowers(lowers []*os.Root, rel string) bool {
	for _, r := range lowers {
		fi, err := r.Lstat(rel)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return false // e.g. it would escape the layer: not a file of the image
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && fi.Mode()&fs.ModeCharDevice != 0 && st.Rdev == 0 {
			return false
		}
		return true
	}
	return false
}
