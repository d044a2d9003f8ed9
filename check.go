package skiff

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/skiffrt/skiff/cgroup"
	"github.com/skiffrt/skiff/internal/lockfile"
	"github.com/skiffrt/skiff/overlay"
	"github.com/skiffrt/skiff/registry"
)

// CheckReport is what Engine.Check found, store by store. With repair, it says what was
// found before repairing: a second Check afterwards reports clean.
type CheckReport struct {
	// Images is the image store's own check (temp files, missing and corrupt blobs).
	Images *registry.CheckReport
	// LayerTemps are temp dirs of unpacks and removals under Root()/layers that no process
	// is working on any more (left by a killed pull or rmi): overlay.CheckReport.Temps.
	LayerTemps []string
	// DanglingLinks are short links under Root()/layers/l whose layer is gone:
	// overlay.CheckReport.DanglingLinks.
	DanglingLinks []string
	// HalfCreated are container dirs without a state.json (a Create or Delete killed
	// midway). Repair unmounts, kills and deletes what they hold, then the dirs.
	HalfCreated []string
	// Lost are containers whose state says created, running or paused while their
	// process and its reaper are gone. Repair unmounts their root filesystem, deletes
	// their cgroup, detaches their networks and records them as exited (code 255); those
	// made with AutoRemove (a killed `run --rm`) it then deletes. Lost are also exited
	// AutoRemove containers whose remover (the process that ran them) is gone: repair
	// deletes them.
	Lost []string
	// Endpoints are network endpoints of containers that are gone or lost, detached by
	// repair (as "network/container-id"). Only filled when repairing.
	Endpoints []string
	// VolumeTemps are temp dirs under Root()/volumes of a volume create or removal
	// that was killed midway; repair removes them.
	VolumeTemps []string
	// BuildTemps are temp dirs and files of builds under Root()/build-cache that no build
	// is running for (a build killed mid-step); repair unmounts and removes them. Looked at
	// only while no build or pull holds the GC lock: builder.CheckReport.Temps.
	BuildTemps []string
}

// Clean reports whether Check found nothing to repair. Unreferenced blobs and layers are
// not problems: PruneImages collects them.
func (r *CheckReport) Clean() bool {
	return (r.Images == nil || r.Images.Clean()) && len(r.LayerTemps) == 0 &&
		len(r.DanglingLinks) == 0 && len(r.HalfCreated) == 0 && len(r.Lost) == 0 &&
		len(r.VolumeTemps) == 0 && len(r.BuildTemps) == 0
}

// CheckOptions tune Engine.Check. The zero value checks without changing anything.
type CheckOptions struct {
	// Repair fixes what Check finds (`skiff system check --repair`); the report still
	// says what was found before the repair.
	Repair bool
}

// Check verifies the engine root like fsck and, with Repair, fixes what a killed process
// left. Each store checks its own layout: the image store its temp files and corrupt
// blobs (registry.Store.Check), the layer store its stray temp dirs and dangling short
// links (overlay.Store.Check), the build cache the temps of killed builds
// (builder.Builder.Check), the volumes the temps of killed creates and removals; the
// engine adds half-created container dirs and lost containers (see CheckReport) and the
// network endpoints of containers that are gone (netbridge.Manager.Check). A pull killed at any instant leaves a root that Check
// repairs and the next Pull completes. It waits for Create, pulls and writes in flight,
// so it is safe while other processes use the root. `skiff system check`.
func (e *Engine) Check(ctx context.Context, opts CheckOptions) (*CheckReport, error) {
	rep := &CheckReport{}
	ir, err := e.images.Check(ctx, opts.Repair)
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", e.root, err)
	}
	rep.Images = ir
	lr, err := e.layers.Check(ctx, opts.Repair)
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", e.root, err)
	}
	rep.LayerTemps, rep.DanglingLinks = lr.Temps, lr.DanglingLinks
	if err := e.checkContainers(ctx, rep, opts.Repair); err != nil {
		return nil, fmt.Errorf("check %s: %w", e.root, err)
	}
	if opts.Repair {
		if err := e.removeLostAutoRemove(ctx, rep.Lost); err != nil {
			return nil, fmt.Errorf("check %s: %w", e.root, err)
		}
	}
	if rep.VolumeTemps, err = e.vols.check(opts.Repair); err != nil {
		return nil, fmt.Errorf("check %s: %w", e.root, err)
	}
	if err := e.checkBuildCache(ctx, rep, opts.Repair); err != nil {
		return nil, fmt.Errorf("check %s: %w", e.root, err)
	}
	return rep, nil
}

// checkBuildCache runs the build cache's own check, if the root has a build cache.
func (e *Engine) checkBuildCache(ctx context.Context, rep *CheckReport, repair bool) error {
	if _, err := os.Stat(e.buildCache()); errors.Is(err, os.ErrNotExist) {
		return nil // never built: nothing to check, and nothing to create
	}
	b, err := e.builder()
	if err != nil {
		return err
	}
	br, err := b.Check(ctx, repair)
	if br != nil {
		rep.BuildTemps = br.Temps
	}
	return err
}

// held reports whether a process holds the flock on path (a missing file is not held).
func held(path string) bool {
	_, err := os.Lstat(path)
	return err == nil && !lockfile.Abandoned(path)
}

// lost reports whether a container's state says it is alive while the process that
// reaps it is gone, and with it the container's process, or, for a container that is
// not detached, whatever its process still does: a foreground container's reaper and
// streams were the process that created it (a `run` killed between create and start,
// or while its command ran), so nobody will start, reap or hear it. Container.State
// shows such a container as exited, 255; Check kills what runs in it.
func lost(st *State) bool {
	return st.Status != StatusExited && st.Owner > 0 && gone(st.Owner) &&
		(!st.Detached || st.Pid == 0 || !alive(st.Pid))
}

// checkContainers looks for half-created and lost containers under the root lock, so no
// Create is in the middle of making a dir.
func (e *Engine) checkContainers(ctx context.Context, rep *CheckReport, repair bool) error {
	unlock, err := e.lockRoot()
	if err != nil {
		return err
	}
	defer unlock()
	dir := filepath.Join(e.root, "containers")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	known := map[string]bool{} // containers with a state that keep their endpoints
	var errs []error
	for _, ent := range ents {
		name := ent.Name()
		if !ent.IsDir() {
			continue
		}
		if id, ok := strings.CutPrefix(name, ".rm-"); ok {
			// A Delete killed after its rename: everything but the files is undone.
			rep.HalfCreated = append(rep.HalfCreated, filepath.Join(dir, name))
			if repair {
				errs = append(errs, e.scrapContainerDir(id, filepath.Join(dir, name)))
			}
			continue
		}
		if id, ok := strings.CutPrefix(name, ".run-"); ok {
			// A build step's throwaway container: alive while its runner holds the lock.
			if held(filepath.Join(dir, name, "lock")) {
				known[id] = true
				continue
			}
			rep.HalfCreated = append(rep.HalfCreated, filepath.Join(dir, name))
			if repair {
				errs = append(errs, e.scrapContainerDir(id, filepath.Join(dir, name)))
			}
			continue
		}
		if strings.HasPrefix(name, ".") {
			continue
		}
		st, err := e.ctrs.load(name)
		if errors.Is(err, ErrNotFound) {
			rep.HalfCreated = append(rep.HalfCreated, filepath.Join(dir, name))
			if repair {
				errs = append(errs, e.scrapContainerDir(name, filepath.Join(dir, name)))
			}
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !lost(st) && !abandonedRm(st) {
			known[st.ID] = true
			continue
		}
		rep.Lost = append(rep.Lost, st.ID)
		if repair {
			errs = append(errs, e.repairLost(ctx, st))
		}
	}
	if repair {
		removed, err := e.net.Check(ctx, func(id string) bool { return known[id] })
		errs = append(errs, err)
		for _, ep := range removed {
			rep.Endpoints = append(rep.Endpoints, ep.Network+"/"+shortID(ep.ContainerID))
		}
	}
	sort.Strings(rep.HalfCreated)
	sort.Strings(rep.Lost)
	return errors.Join(errs...)
}

// releaseContainer undoes what a container holds on the host besides its files: processes
// left in its cgroup, the cgroup, the rootfs mount. Networks are Check's last step.
func (e *Engine) releaseContainer(id, dir, cgPath string) error {
	var errs []error
	if cgPath == "" {
		cgPath = "/" + strings.Trim(e.cgroupParent, "/") + "/" + id
	}
	if cg, err := cgroup.Load(cgPath); err == nil {
		errs = append(errs, cg.Kill(), cg.Delete()) // Kill waits for the cgroup to empty
	} else if !errors.Is(err, cgroup.ErrNotExist) {
		errs = append(errs, err)
	}
	errs = append(errs, overlay.Unmount(filepath.Join(dir, "merged")))
	return errors.Join(errs...)
}

// scrapContainerDir removes a container dir that has no (or no longer a) state.
func (e *Engine) scrapContainerDir(id, dir string) error {
	if err := e.releaseContainer(id, dir, ""); err != nil {
		return fmt.Errorf("container %s: %w", shortID(id), err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("container %s: %w", shortID(id), err)
	}
	e.log.Info("check: removed half-created container", "dir", dir)
	return nil
}

// repairLost releases a lost container's host resources and records it as exited.
func (e *Engine) repairLost(ctx context.Context, st *State) error {
	if err := e.releaseContainer(st.ID, e.ctrs.path(st.ID), st.Cgroup); err != nil {
		return fmt.Errorf("container %s: %w", shortID(st.ID), err)
	}
	_, err := e.ctrs.update(st.ID, func(s *State) error {
		if lost(s) {
			s.Status = StatusExited
			s.ExitCode = 255
			s.Pid = 0
			s.Finished = time.Now().UTC()
		}
		return nil
	})
	if err != nil {
		return err
	}
	e.log.Info("check: lost container marked exited", "id", shortID(st.ID))
	return nil
}
