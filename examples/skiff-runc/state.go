package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiffrt/skiff/cgroup"
	"github.com/skiffrt/skiff/internal/atomicfile"
	"github.com/skiffrt/skiff/internal/lockfile"
	"github.com/skiffrt/skiff/namespace"
)

// Errors worded as runc's: containerd's shim matches "does not exist" and
// "container not running" in them.
var (
	errNotExist   = errors.New("container does not exist")
	errNotRunning = errors.New("container not running")
	errNoID       = errors.New("container id cannot be empty")
)

// stateFile is the name of a container's state in --root/<id>/.
const stateFile = "state.json"

var validID = regexp.MustCompile(`^[\w+\-.]+$`)

// container is what skiff-runc keeps of one container in --root/<id>/state.json.
type container struct {
	ID  string `json:"id"`
	Pid int    `json:"pid"`
	// StartTime is field 22 of /proc/<pid>/stat when created: a pid whose start time
	// differs is another process, and the container is stopped.
	StartTime uint64    `json:"startTime"`
	Bundle    string    `json:"bundle"`
	Rootfs    string    `json:"rootfs"`
	Created   time.Time `json:"created"`
	Cgroup    string    `json:"cgroupPath"`
	// Spec is the bundle's config.json as created (root.path made absolute).
	Spec *specs.Spec `json:"spec"`
	// RootfsMount is the id of the bind mount of the rootfs that a container without
	// a mount namespace left in the creator's (namespace.UnmountRootfs); 0 if none.
	RootfsMount uint64 `json:"rootfsMount,omitempty"`

	dir string
}

// containerDir returns --root/<id>, checking the id.
func (g *globalFlags) containerDir(id string) (string, error) {
	if id == "" {
		return "", errNoID
	}
	if !validID.MatchString(id) || id == "." || id == ".." {
		return "", fmt.Errorf("invalid id format: %s", id)
	}
	return filepath.Join(g.root, id), nil
}

// lock takes the container's lock (its directory) in mode m.
func lockDir(ctx context.Context, dir string, m lockfile.Mode) (*lockfile.Lock, error) {
	l, err := lockfile.Acquire(ctx, dir, m)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return l, nil
}

// load reads a container's state under a lock in mode m; the caller unlocks.
func (g *globalFlags) load(ctx context.Context, id string, m lockfile.Mode) (*container, *lockfile.Lock, error) {
	dir, err := g.containerDir(id)
	if err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, nil, errNotExist
	}
	l, err := lockDir(ctx, dir, m)
	if err != nil {
		return nil, nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		l.Unlock()
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, errNotExist
		}
		return nil, nil, err
	}
	c := &container{dir: dir}
	if err := json.Unmarshal(b, c); err != nil {
		l.Unlock()
		return nil, nil, fmt.Errorf("read state of %s: %w", id, err)
	}
	return c, l, nil
}

// save writes the state atomically.
func (c *container) save() error {
	return atomicfile.WriteJSON(filepath.Join(c.dir, stateFile), c, atomicfile.Options{Perm: 0o600})
}

// Container statuses of the runtime spec.
const (
	statusCreating = "creating"
	statusCreated  = "created"
	statusRunning  = "running"
	statusPaused   = "paused"
	statusStopped  = "stopped"
)

// status derives the status from the kernel: the init alive (same start time, not a
// zombie), its exec fifo still there (created), its cgroup frozen (paused).
func (c *container) status() string {
	if c.Pid <= 0 {
		return statusStopped
	}
	st, state, err := procStat(c.Pid)
	if err != nil || st != c.StartTime || state == "Z" || state == "X" {
		return statusStopped
	}
	if _, err := os.Lstat(filepath.Join(c.dir, namespace.FifoName)); err == nil {
		return statusCreated
	}
	if cg := c.cgroup(); cg != nil {
		if frozen, _ := cgroup.Frozen(cg); frozen {
			return statusPaused
		}
	}
	return statusRunning
}

// cgroup loads the container's cgroup, nil when it has none (any more).
func (c *container) cgroup() cgroup.Manager {
	if c.Cgroup == "" {
		return nil
	}
	cg, err := cgroup.Load(c.Cgroup)
	if err != nil {
		return nil
	}
	return cg
}

// ociState is the runtime spec's state of the container.
func (c *container) ociState() specs.State {
	s := specs.State{Version: specs.Version, ID: c.ID, Status: specs.ContainerState(c.status()), Bundle: c.Bundle}
	if s.Status != statusStopped {
		s.Pid = c.Pid
	}
	if c.Spec != nil {
		s.Annotations = c.Spec.Annotations
	}
	return s
}

// procStat returns the start time (field 22) and state (field 3) of pid.
func procStat(pid int) (uint64, string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, "", err
	}
	// The command (field 2) is in parentheses and may contain anything.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, "", fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, "", fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(f))
	}
	st, err := strconv.ParseUint(f[19], 10, 64)
	return st, f[0], err
}
