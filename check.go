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

	"github.com/moby/sys/mountinfo"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/skiffrt/skiff/cgroup"
	"github.com/skiffrt/skiff/overlay"
	"github.com/skiffrt/skiff/registry"
)

// CheckReport is what Engine.Check found, store by store. With repair, it says what was
// found before repairing: a second Check afterwards reports clean.
type CheckReport struct {
	// Images is the image store's own check (temp files, missing and corrupt blobs).
	Images *registry.CheckReport
	// LayerTemps are temp dirs of unpacks and removals under Root()/layers that no process
	// is working on any more (left by a killed pull or rmi).
	LayerTemps []string
	// DanglingLinks are short links under Root()/layers/l whose layer is gone.
	DanglingLinks []string
	// HalfCreated are container dirs without a state.json (a Create or Delete killed
	// midway). Repair unmounts, kills and deletes what they hold, then the dirs.
	HalfCreated []string
	// Lost are containers whose state says created, running or paused while their
	// process and its reaper are gone. Repair unmounts their root filesystem, deletes
	// their cgroup, detaches their networks and records them as exited (code 255).
	Lost []string
	// Endpoints are network endpoints of containers that are gone or lost, detached by
	// repair (as "network/container-id"). Only filled when repairing.
	Endpoints []string
	// BuildTemps are temp dirs and files of builds under Root()/build-cache that no build
	// is running for (a build killed mid-step); repair unmounts and removes them. Looked at
	// only while no build or pull holds the GC lock.
	BuildTemps []string
}

// Clean reports whether Check found nothing to repair. Unreferenced blobs and layers are
// not problems: PruneImages collects them.
func (r *CheckReport) Clean() bool {
	return (r.Images == nil || r.Images.Clean()) && len(r.LayerTemps) == 0 &&
		len(r.DanglingLinks) == 0 && len(r.HalfCreated) == 0 && len(r.Lost) == 0 &&
		len(r.BuildTemps) == 0
}

// Check verifies the engine root like fsck and, with repair, fixes what a killed process
// left: the image store's temp files and corrupt blobs (registry.Store.Check), stray
// layer temp dirs and dangling short links (overlay.Store.Check), half-created container
// dirs and lost containers (see CheckReport), and the network endpoints of containers
// that are gone (netbridge.Manager.Check). A pull killed at any instant leaves a root that
// Check repairs and the next Pull completes. It waits for Create, pulls and writes in
// flight, so it is safe while other processes use the root. `skiff system check`.
func (e *Engine) Check(ctx context.Context, repair bool) (*CheckReport, error) {
	rep := &CheckReport{}
	ir, err := e.images.Check(ctx, repair)
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", e.root, err)
	}
	rep.Images = ir
	if err := e.checkLayers(ctx, rep, repair); err != nil {
		return nil, fmt.Errorf("check %s: %w", e.root, err)
	}
	if err := e.checkContainers(ctx, rep, repair); err != nil {
		return nil, fmt.Errorf("check %s: %w", e.root, err)
	}
	if err := e.checkBuildTemps(rep, repair); err != nil {
		return nil, fmt.Errorf("check %s: %w", e.root, err)
	}
	return rep, nil
}

// checkBuildTemps finds what a killed build left in the build cache: step snapshots
// (.tmp-build-*, possibly still mounted), commit dirs and half-written blobs. A running
// build holds the GC lock shared, so they are only looked at when the lock can be taken
// exclusive at once: then every temp there is stale.
func (e *Engine) checkBuildTemps(rep *CheckReport, repair bool) error {
	f, err := os.OpenFile(e.gcLock(), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
		return nil // a build or a pull runs: their temps are theirs
	}
	cache := filepath.Join(e.root, "build-cache")
	var temps []string
	for _, pattern := range []string{".tmp-*", "blobs/.tmp-*"} {
		m, _ := filepath.Glob(filepath.Join(cache, pattern))
		temps = append(temps, m...)
	}
	sort.Strings(temps)
	rep.BuildTemps = temps
	if !repair {
		return nil
	}
	var errs []error
	for _, t := range temps {
		mounts, _ := mountinfo.GetMounts(mountinfo.PrefixFilter(t))
		for i := len(mounts) - 1; i >= 0; i-- { // deepest first
			errs = append(errs, overlay.Unmount(mounts[i].Mountpoint))
		}
		errs = append(errs, os.RemoveAll(t))
	}
	return errors.Join(errs...)
}

// checkLayers finds layer temp dirs nobody holds the lock of (the layer store's documented
// layout: .tmp-<hex>-*, .rm-<hex>-*, locks/<hex>) and dangling short links; repair is the
// layer store's own Check.
func (e *Engine) checkLayers(ctx context.Context, rep *CheckReport, repair bool) error {
	root := e.layers.Root()
	ents, err := os.ReadDir(root)
	if err != nil {
		return err
	}
	for _, ent := range ents {
		name := ent.Name()
		rest, ok := strings.CutPrefix(name, ".tmp-")
		if !ok {
			if rest, ok = strings.CutPrefix(name, ".rm-"); !ok {
				continue
			}
		}
		hex, _, _ := strings.Cut(rest, "-")
		if digest.NewDigestFromEncoded(digest.SHA256, hex).Validate() != nil {
			continue
		}
		if busy, err := layerBusy(filepath.Join(root, "locks", hex)); err != nil || busy {
			continue
		}
		rep.LayerTemps = append(rep.LayerTemps, filepath.Join(root, name))
	}
	links, err := os.ReadDir(filepath.Join(root, "l"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for _, l := range links {
		p := filepath.Join(root, "l", l.Name())
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			target, err := os.Readlink(p)
			if err != nil {
				continue
			}
			hex := filepath.Base(filepath.Dir(target))
			if busy, err := layerBusy(filepath.Join(root, "locks", hex)); err != nil || busy {
				continue // being unpacked right now: the link comes before the rename
			}
			rep.DanglingLinks = append(rep.DanglingLinks, p)
		}
	}
	if repair {
		_, err := e.layers.Check(ctx, true)
		return err
	}
	return nil
}

// layerBusy reports whether a process holds the layer store's flock for one layer.
func layerBusy(lock string) (bool, error) {
	fd, err := unix.Open(lock, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	if err != nil {
		return false, &os.PathError{Op: "open", Path: lock, Err: err}
	}
	defer unix.Close(fd)
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return true, nil
		}
		return false, &os.PathError{Op: "flock", Path: lock, Err: err}
	}
	return false, nil // closing the fd drops the lock
}

// lost reports whether a container's state says it is alive while its process and the
// process that reaps it are gone (what Container.State shows as exited, 255).
func lost(st *State) bool {
	return st.Status != StatusExited && st.Owner > 0 && !alive(st.Owner) && (st.Pid == 0 || !alive(st.Pid))
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
			if busy, _ := layerBusy(filepath.Join(dir, name, "lock")); busy {
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
		if !lost(st) {
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
