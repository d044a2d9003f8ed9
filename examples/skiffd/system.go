package main

import (
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/cgroup"
)

var startTime = time.Now().UTC()

func (d *daemon) systemRoutes(h func(string, apiFunc)) {
	ping := func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Builder-Version", "1")
		w.Header().Set("Swarm", "inactive")
		w.Header().Set("Cache-Control", "no-cache, no-store, must-revalidate")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", "2")
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			w.Write([]byte("OK"))
		}
		return nil
	}
	h("GET /_ping", ping)
	h("HEAD /_ping", ping)
	h("GET /version", d.version)
	h("GET /info", d.info)
	h("GET /system/df", d.systemDF)
}

func kernelVersion() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

func (d *daemon) version(w http.ResponseWriter, r *http.Request) error {
	details := map[string]string{
		"ApiVersion": apiVersion, "MinAPIVersion": minAPIVersion, "GitCommit": "skiff",
		"GoVersion": runtime.Version(), "Os": "linux", "Arch": runtime.GOARCH,
		"KernelVersion": kernelVersion(), "BuildTime": startTime.Format(time.RFC3339), "Experimental": "false",
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"Platform": map[string]string{"Name": "Skiff"}, "Version": engineVersion,
		"ApiVersion": apiVersion, "MinAPIVersion": minAPIVersion, "GitCommit": "skiff",
		"GoVersion": runtime.Version(), "Os": "linux", "Arch": runtime.GOARCH,
		"KernelVersion": kernelVersion(), "BuildTime": startTime.Format(time.RFC3339),
		"Components": []map[string]any{{"Name": "Engine", "Version": engineVersion, "Details": details}},
	})
}

func (d *daemon) info(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	cs, err := d.e.Containers(ctx)
	if err != nil {
		return err
	}
	var running, paused, stopped int
	for _, c := range cs {
		switch c.State().Status {
		case skiff.StatusRunning:
			running++
		case skiff.StatusPaused:
			paused++
		default:
			stopped++
		}
	}
	imgs, err := d.e.Images().List(ctx)
	if err != nil {
		return err
	}
	var si unix.Sysinfo_t
	unix.Sysinfo(&si)
	host, _ := os.Hostname()
	cgv := "1"
	if cgroup.DetectMode() == cgroup.Unified {
		cgv = "2"
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"ID": "skiff", "Name": host, "ServerVersion": engineVersion,
		"OperatingSystem": osName(), "OSType": "linux", "Architecture": runtime.GOARCH,
		"KernelVersion": kernelVersion(), "NCPU": runtime.NumCPU(), "MemTotal": int64(si.Totalram) * int64(si.Unit),
		"Containers": len(cs), "ContainersRunning": running, "ContainersPaused": paused, "ContainersStopped": stopped,
		"Images": len(imgs), "Driver": "overlay", "DriverStatus": [][2]string{{"Backing Filesystem", "layers"}},
		"DockerRootDir": d.e.Root(), "LoggingDriver": "json-file", "CgroupDriver": "cgroupfs", "CgroupVersion": cgv,
		"Plugins":  map[string][]string{"Volume": {"local"}, "Network": {"bridge", "host", "null"}, "Log": {"json-file"}},
		"Swarm":    map[string]any{"LocalNodeState": "inactive", "ControlAvailable": false},
		"Runtimes": map[string]any{"skiff": map[string]string{"path": "skiff"}}, "DefaultRuntime": "skiff",
		"SecurityOptions": []string{"name=seccomp,profile=builtin"},
		"RegistryConfig":  map[string]any{"IndexConfigs": map[string]any{}, "InsecureRegistryCIDRs": []string{"127.0.0.0/8"}, "Mirrors": []string{}},
		"Warnings":        []string{}, "LiveRestoreEnabled": true, "Debug": false,
		"SystemTime": time.Now().Format(time.RFC3339Nano),
	})
}

func osName() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "linux"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return "linux"
}

func (d *daemon) systemDF(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	imgs, err := d.e.Images().List(ctx)
	if err != nil {
		return err
	}
	var total int64
	var images []map[string]any
	for _, im := range imgs {
		total += im.Size
		images = append(images, imageSummary(im))
	}
	cs, err := d.e.Containers(ctx)
	if err != nil {
		return err
	}
	var containers []map[string]any
	for _, c := range cs {
		containers = append(containers, d.containerSummary(ctx, c))
	}
	vols, _ := d.volumeList(ctx)
	return writeJSON(w, http.StatusOK, map[string]any{
		"LayersSize": total, "Images": nonNil(images), "Containers": nonNil(containers),
		"Volumes": nonNil(vols), "BuildCache": []any{},
	})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
