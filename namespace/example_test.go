package namespace_test

import (
	"context"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiffrt/skiff/namespace"
)

// A program that starts containers calls namespace.Init first thing in main (in a
// test binary: in TestMain). Then Create, Start and Wait run one command.
func Example() {
	namespace.Init() // never returns in a container init

	spec := namespace.DefaultSpec("/var/lib/skiff/containers/abc/merged", "echo", "hello")
	spec.Hostname = "abc"
	p, err := namespace.Create(context.Background(), &namespace.Config{
		Spec:       spec,
		StateDir:   "/run/skiff/abc",
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		BeforeInit: func(pid int) error { return nil /* cgroup, network */ },
	})
	if err != nil {
		fmt.Println(err) // wraps namespace.ErrNotFound → exit 127, ErrNotExecutable → 126
		return
	}
	if err := p.Start(); err != nil {
		fmt.Println(err)
		return
	}
	st, err := p.Wait()
	fmt.Println(st.Code, err)
}

// DefaultSpec gives Docker's defaults; callers adjust the result.
func ExampleDefaultSpec() {
	spec := namespace.DefaultSpec("/rootfs", "sh", "-c", "exit 7")
	fmt.Println(spec.Process.Env[0])
	fmt.Println(spec.Mounts[0].Destination, spec.Mounts[len(spec.Mounts)-1].Destination, spec.Mounts[len(spec.Mounts)-1].Options)
	// Output:
	// PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	// /proc /sys [nosuid noexec nodev ro]
}

// Exec runs a second process in a running container, like docker exec.
func ExampleExec() {
	var initPid int // Process.Pid of a running container
	p, err := namespace.Exec(context.Background(), initPid, &namespace.ExecConfig{
		Process: &specs.Process{Args: []string{"ps"}, Env: []string{"PATH=/bin"}, Cwd: "/"},
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	st, err := p.Wait()
	fmt.Println(st.Code, err)
}

// DefaultSpec gives a container Docker's default capabilities and seccomp profile.
func ExampleDefaultCapabilities() {
	spec := namespace.DefaultSpec("/var/lib/skiff/containers/abc/merged", "sh")
	fmt.Println(len(spec.Process.Capabilities.Bounding), spec.Process.Capabilities.Bounding[0])
	fmt.Println(spec.Linux.Seccomp.DefaultAction)
	// Output:
	// 14 CAP_CHOWN
	// SCMP_ACT_ERRNO
}
