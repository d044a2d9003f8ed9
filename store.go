package skiff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiffrt/skiff/internal/atomicfile"
	"github.com/skiffrt/skiff/internal/lockfile"
)

// containerStore owns the containers' directory, <root>/containers. It is the only
// code that knows its layout:
//
//	containers/<id>/state.json   the State, replaced atomically at each step
//	containers/<id>/lock         held while state.json is read-modified-written
//	containers/<id>/op.lock      held by a lifecycle step that checks state, then acts
//	containers/<id>/hold.lock    held shared by waiters and log followers; the monitor
//	                             of a --rm container takes it before removing it
//	containers/.rm-<id>/         a container being removed (renamed first)
//	containers/.run-<id>/        a build step's throwaway container (locked while alive)
//
// The engine, the monitor of a detached container and Check all go through it, so a
// state is read, locked and written one way.
type containerStore struct{ dir string }

func (s containerStore) path(id string) string { return filepath.Join(s.dir, id) }

// create makes the directory of a new container. The caller holds the root lock (no
// other Create picks the same name meanwhile).
func (s containerStore) create(id string) (string, error) {
	dir := s.path(id)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", fmt.Errorf("container %s: %w", shortID(id), err)
	}
	return dir, nil
}

// save writes st atomically. Container files are runtime state (a crash kills the
// containers they describe, and Engine.Check repairs the rest), so they are not
// fsynced: four fsyncs per `run` cost more than the start itself.
func (s containerStore) save(st *State) error {
	if err := atomicfile.WriteJSON(filepath.Join(s.path(st.ID), "state.json"), st, atomicfile.Options{Perm: 0o600}); err != nil {
		return fmt.Errorf("container %s: save state: %w", shortID(st.ID), err)
	}
	return nil
}

// load reads the state of container id; ErrNotFound when it has none.
func (s containerStore) load(id string) (*State, error) {
	data, err := os.ReadFile(filepath.Join(s.path(id), "state.json"))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		return nil, fmt.Errorf("container %s: read state: %w", shortID(id), err)
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("container %s: state.json: %w", shortID(id), err)
	}
	return &st, nil
}

// update applies fn to the container's state under the container's state lock, so the
// process that started a container and the monitor that reaps it never overwrite each
// other's step. fn returning an error leaves the state as it was.
func (s containerStore) update(id string, fn func(*State) error) (*State, error) {
	l, err := lockfile.Acquire(nil, filepath.Join(s.path(id), "lock"), lockfile.Exclusive)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, shortID(id))
		}
		return nil, err
	}
	defer l.Unlock()
	st, err := s.load(id)
	if err != nil {
		return nil, err
	}
	was := st.Status
	if err := fn(st); err != nil {
		return st, err
	}
	// The event goes first: a waiter woken by the new state (and what it does next, a
	// Delete's destroy) is then always recorded after it.
	s.announce(was, st)
	if err := s.save(st); err != nil {
		return st, err
	}
	return st, nil
}

// root is the engine root the store belongs to.
func (s containerStore) root() string { return filepath.Dir(s.dir) }

// announce records the event of a change of a container's status from was to st's:
// every process that moves a container (the engine, its monitor, Check) reports it
// the same way.
func (s containerStore) announce(was Status, st *State) {
	var action string
	attrs := []string{}
	switch {
	case was == st.Status:
		return
	case st.Status == StatusRunning && was == StatusPaused:
		action = "unpause"
	case st.Status == StatusRunning:
		action = "start"
	case st.Status == StatusPaused:
		action = "pause"
	case st.Status == StatusExited && (was == StatusRunning || was == StatusPaused):
		action = "die"
		attrs = append(attrs, "exitCode", strconv.Itoa(st.ExitCode))
		if st.OOMKilled {
			recordEvent(s.root(), EventContainer, "oom", st.ID, containerEventAttrs(st))
		}
	default:
		return
	}
	recordEvent(s.root(), EventContainer, action, st.ID, containerEventAttrs(st, attrs...))
}

// markStarted records that Start released a created container's init at released.
// The monitor of a command that ends at once may have recorded its exit first (created
// → exited, which announce reports as nothing): the run then gets its start and die
// events here, in that order, as every other run does.
func (s containerStore) markStarted(id string, released time.Time) (*State, error) {
	ranAndEnded := false
	st, err := s.update(id, func(st *State) error {
		st.Started = released // also when the monitor saw it exit already
		st.ManuallyStopped = false
		switch st.Status {
		case StatusCreated:
			st.Status = StatusRunning
			healthOnStart(st)
		case StatusExited:
			ranAndEnded = true
		}
		return nil
	})
	if err == nil && ranAndEnded {
		running := *st
		running.Status = StatusRunning
		s.announce(StatusCreated, &running)
		s.announce(StatusRunning, st)
	}
	return st, err
}

// lockOp serialises the lifecycle steps that check a container's state and then act on
// it (Start, Restart, Delete) across processes: two starts of one container, or a
// delete racing a start, would otherwise both act on the same stale state. It is a
// different lock from the state lock, which the monitor takes to record an exit while a
// Delete holding this one waits for that exit.
func (s containerStore) lockOp(id string) (*lockfile.Lock, error) {
	l, err := lockfile.Acquire(nil, filepath.Join(s.path(id), "op.lock"), lockfile.Exclusive)
	if err != nil && errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, shortID(id))
	}
	return l, err
}

// ids lists the container IDs that have a directory (hidden entries are containers
// being removed or build steps).
func (s containerStore) ids() ([]string, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var ids []string
	for _, ent := range ents {
		if ent.IsDir() && !strings.HasPrefix(ent.Name(), ".") {
			ids = append(ids, ent.Name())
		}
	}
	return ids, nil
}

// list returns the state of every container, oldest first. Containers without a
// state (half-created, or being removed) are left out.
func (s containerStore) list() ([]*State, error) {
	ids, err := s.ids()
	if err != nil {
		return nil, err
	}
	var out []*State
	for _, id := range ids {
		if st, err := s.load(id); err == nil {
			out = append(out, st)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// lookup resolves a container name, full ID or unique ID prefix to its ID.
func (s containerStore) lookup(ref string) (string, error) {
	if ref == "" {
		return "", fmt.Errorf("%w: empty reference", ErrNotFound)
	}
	ids, err := s.ids()
	if err != nil {
		return "", err
	}
	var prefixed []string
	for _, id := range ids {
		if id == ref {
			return id, nil
		}
		st, err := s.load(id)
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

// nameTaken reports the ID of the container named exactly name, if any (an ID prefix is
// not a name: "db" may be taken as a name even when an ID starts with "db").
func (s containerStore) nameTaken(name string) (string, bool) {
	ids, _ := s.ids()
	for _, id := range ids {
		if st, err := s.load(id); err == nil && st.Name == name {
			return st.ID, true
		}
	}
	return "", false
}

// saveSpec writes the container's OCI runtime spec, config.json.
func (s containerStore) saveSpec(id string, spec *specs.Spec) error {
	if err := atomicfile.WriteJSON(filepath.Join(s.path(id), "config.json"), spec, atomicfile.Options{Perm: 0o600}); err != nil {
		return fmt.Errorf("container %s: config.json: %w", shortID(id), err)
	}
	return nil
}

// readSpec decodes the container's config.json into v: a *specs.Spec, or a narrower
// view of it. Decoding into the whole spec type first builds the decoder's field
// tables of every type the file holds (mounts, devices, namespaces, ...), the larger
// part of an exec's own work in a short-lived program: callers that need one part
// decode only that.
func (s containerStore) readSpec(id string, v any) error {
	data, err := os.ReadFile(filepath.Join(s.path(id), "config.json"))
	if err != nil {
		return fmt.Errorf("container %s: %w", shortID(id), err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("container %s: config.json: %w", shortID(id), err)
	}
	return nil
}

// loadSpec reads the container's OCI runtime spec, config.json.
func (s containerStore) loadSpec(id string) (*specs.Spec, error) {
	var spec specs.Spec
	if err := s.readSpec(id, &spec); err != nil {
		return nil, err
	}
	return &spec, nil
}

// loadProcessSpec reads only Process and Linux.Seccomp of config.json, what an exec
// needs.
func (s containerStore) loadProcessSpec(id string) (*specs.Spec, error) {
	var view struct {
		Process *specs.Process `json:"process"`
		Linux   *struct {
			Seccomp *specs.LinuxSeccomp `json:"seccomp"`
		} `json:"linux"`
	}
	if err := s.readSpec(id, &view); err != nil {
		return nil, err
	}
	if view.Process == nil {
		return nil, fmt.Errorf("container %s: config.json: no process", shortID(id))
	}
	spec := &specs.Spec{Process: view.Process}
	if view.Linux != nil {
		spec.Linux = &specs.Linux{Seccomp: view.Linux.Seccomp}
	}
	return spec, nil
}

// loadSysctlSpec reads only Linux.Sysctl and Linux.Namespaces of config.json: what
// namespace.ApplySysctls needs when the container starts again.
func (s containerStore) loadSysctlSpec(id string) (*specs.Spec, error) {
	var view struct {
		Linux *struct {
			Sysctl     map[string]string      `json:"sysctl"`
			Namespaces []specs.LinuxNamespace `json:"namespaces"`
		} `json:"linux"`
	}
	if err := s.readSpec(id, &view); err != nil {
		return nil, err
	}
	spec := &specs.Spec{Linux: &specs.Linux{}}
	if view.Linux != nil {
		spec.Linux.Sysctl, spec.Linux.Namespaces = view.Linux.Sysctl, view.Linux.Namespaces
	}
	return spec, nil
}

// specMount is the part of a config.json mount that loadMounts reads.
type specMount struct {
	Type   string `json:"type"`
	Source string `json:"source"`
}

// loadMounts reads only the mounts' types and sources of config.json.
func (s containerStore) loadMounts(id string) ([]specMount, error) {
	var view struct {
		Mounts []specMount `json:"mounts"`
	}
	if err := s.readSpec(id, &view); err != nil {
		return nil, err
	}
	return view.Mounts, nil
}

// watch wakes a waiter on the next change of the container's directory.
func (s containerStore) watch(id string) *dirWatch { return watchDir(s.path(id)) }

// remove deletes the container's directory: renamed first, so a concurrent lookup
// never sees a half-removed container, then removed.
func (s containerStore) remove(id string) error {
	gone := filepath.Join(s.dir, ".rm-"+id)
	if err := os.Rename(s.path(id), gone); err != nil && !os.IsNotExist(err) {
		return err
	}
	// A process that still had the directory open (a monitor finishing its own --rm)
	// can make one pass fail with ENOTEMPTY: look again before giving up.
	for i := 0; ; i++ {
		err := os.RemoveAll(gone)
		if err == nil {
			return nil
		}
		if i == 20 {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// hold takes the container's hold lock shared: waiters and log followers hold it
// while they may still need the container's state and log. ErrNotFound when the
// container is gone.
func (s containerStore) hold(id string) (*lockfile.Lock, error) {
	l, err := lockfile.Acquire(nil, filepath.Join(s.path(id), "hold.lock"), lockfile.Shared)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, shortID(id))
		}
		return nil, err
	}
	return l, nil
}

// awaitHolders waits until no one holds the container (see hold), for at most grace,
// and returns the hold lock taken exclusively: nil when the grace ran out or the
// container is gone. Holding it keeps new holders out while the container is removed.
func (s containerStore) awaitHolders(id string, grace time.Duration) *lockfile.Lock {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	l, err := lockfile.Acquire(ctx, filepath.Join(s.path(id), "hold.lock"), lockfile.Exclusive)
	if err != nil {
		return nil
	}
	return l
}

// waitExited blocks until current reports the container exited after the time after
// (zero: any exit), returning that state, or removed (ErrNotFound), or ctx ends. It
// looks again on every inotify event of the container's directory, and on a slow tick
// for what no file change announces (a reaper that died: current shows such a
// container as exited).
func (s containerStore) waitExited(ctx context.Context, id string, after time.Time, current func() (*State, bool)) (*State, error) {
	w := s.watch(id)
	defer w.Close()
	for {
		st, removed := current()
		if removed {
			return nil, fmt.Errorf("wait for container %s: %w: it was removed", shortID(id), ErrNotFound)
		}
		if st.Status == StatusExited && (after.IsZero() || st.Finished.After(after)) {
			return st, nil
		}
		w.Wait(ctx, 250*time.Millisecond)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// waitRemoved blocks until the container's directory is gone, also from its removal
// (.rm-<id>), or ctx ends. The watch follows the directory's inode through the rename,
// so its final removal wakes the waiter.
func (s containerStore) waitRemoved(ctx context.Context, id string) error {
	w := s.watch(id)
	defer w.Close()
	for {
		_, err1 := os.Stat(s.path(id))
		_, err2 := os.Stat(filepath.Join(s.dir, ".rm-"+id))
		if os.IsNotExist(err1) && os.IsNotExist(err2) {
			return nil
		}
		w.Wait(ctx, 250*time.Millisecond)
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}
