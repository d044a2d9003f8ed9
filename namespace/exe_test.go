package namespace_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/skiffrt/skiff/namespace"
)

// TestInitExeNotWritable: the init that sits in the container (created state) runs
// from a sealed copy or a read-only view, so its /proc/<pid>/exe cannot be overwritten (CVE-2019-5736).
func TestInitExeNotWritable(t *testing.T) {
	cfg, _, _ := newConfig(t, busyboxRootfs(t), "true")
	p, err := namespace.Create(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Signal(syscall.SIGKILL); _, _ = p.Wait() })
	exe := "/proc/" + strconv.Itoa(p.Pid) + "/exe"
	target, err := os.Readlink(exe)
	self, _ := os.Readlink("/proc/self/exe")
	// Either the binary through a detached read-only overlay (its path inside that
	// mount, "/" + base name) or a sealed memfd copy; never the binary itself.
	if err != nil || (target != "/"+filepath.Base(self) && !strings.HasPrefix(target, "/memfd:skiff-init")) {
		t.Errorf("init exe = %q, %v; want the sealed binary (not %s)", target, err, self)
	}
	// While init runs, the kernel refuses writers (ETXTBSY) anyway.
	if f, err := os.OpenFile(exe, os.O_WRONLY, 0); err == nil {
		f.Close()
		t.Errorf("opened the running init's exe %s for writing", exe)
	}
	// The CVE-2019-5736 attack: hold an O_PATH fd of the exe, wait for the runtime
	// to exit, then reopen it for writing. The seals stop the write.
	fd, err := syscall.Open(exe, unix.O_PATH|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	_ = p.Signal(syscall.SIGKILL)
	_, _ = p.Wait()
	f, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(fd), os.O_WRONLY, 0)
	if err != nil {
		t.Logf("reopen for writing: %v (blocked)", err)
		return
	}
	defer f.Close()
	if _, err := f.Write([]byte("#!/bin/sh\necho pwned\n")); err == nil {
		t.Fatalf("wrote to the init binary through %s: the runtime can be overwritten", exe)
	} else {
		t.Logf("write: %v (blocked)", err)
	}
}
