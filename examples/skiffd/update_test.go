package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDockerCLIUpdate: docker update changes a running container's limits at once and
// refuses a bad value.
func TestDockerCLIUpdate(t *testing.T) {
	e := newEnv(t)
	img := e.busybox()
	e.ok("run", "-d", "--name", "upd", "--pids-limit", "50", img, "sleep", "300")
	e.ok("update", "--pids-limit", "20", "--cpus", "0.5", "--restart", "on-failure:3", "upd")
	id := strings.TrimSpace(e.ok("inspect", "-f", "{{.Id}}", "upd"))
	read := func(ctrl, file string) string {
		b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", ctrl, e.parent, id, file))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	if pids, quota := read("pids", "pids.max"), read("cpu", "cpu.cfs_quota_us"); pids != "20" || quota != "50000" {
		t.Errorf("cgroup after update: pids.max %s, cpu.cfs_quota_us %s", pids, quota)
	}
	_, errs, code := e.run("update", "--cpu-quota", "10", "upd")
	if code == 0 || !strings.Contains(errs, "Cannot update container") {
		t.Errorf("update with a 10 µs quota: exit %d, %q", code, errs)
	}
	_, errs, code = e.run("update", "--pids-limit", "5", "nosuch")
	if code == 0 || !strings.Contains(errs, "No such container") {
		t.Errorf("update of a missing container: exit %d, %q", code, errs)
	}
}

// TestDockerCLIRename: docker rename, then the container answers to the new name only;
// a taken name is a conflict.
func TestDockerCLIRename(t *testing.T) {
	e := newEnv(t)
	img := e.busybox()
	e.ok("run", "-d", "--name", "old", img, "sleep", "300")
	e.ok("run", "-d", "--name", "busy", img, "sleep", "300")
	e.ok("rename", "old", "new")
	if out := e.ok("inspect", "-f", "{{.Name}}", "new"); strings.TrimSpace(out) != "/new" {
		t.Errorf("inspect new: %q", out)
	}
	if _, _, code := e.run("inspect", "old"); code == 0 {
		t.Error("the old name still answers")
	}
	_, errs, code := e.run("rename", "new", "busy")
	if code == 0 || !strings.Contains(errs, "already in use") {
		t.Errorf("rename to a taken name: exit %d, %q", code, errs)
	}
}
