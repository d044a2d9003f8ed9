package skiff_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/netbridge"
)

// Run a command in a container of an image already in the store, as `docker run --rm`.
func ExampleEngine_Run() {
	e, err := skiff.New(skiff.WithRoot("/var/lib/skiff"))
	if err != nil {
		fmt.Println(err)
		return
	}
	st, err := e.Run(context.Background(), skiff.ContainerConfig{
		Image:      "127.0.0.1:5000/busybox:latest",
		Cmd:        []string{"echo", "hello"},
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		AutoRemove: true,
	})
	fmt.Println(st.Code, err)
}

// The exit status docker's CLI gives each kind of failure.
func ExampleExitCodeOf() {
	fmt.Println(skiff.ExitCodeOf(nil))
	fmt.Println(skiff.ExitCodeOf(fmt.Errorf("container 1234: %w", skiff.ErrCommandNotFound)))
	fmt.Println(skiff.ExitCodeOf(fmt.Errorf("container 1234: %w", skiff.ErrCommandNotExecutable)))
	fmt.Println(skiff.ExitCodeOf(skiff.ErrNameInUse))
	// Output:
	// 0
	// 127
	// 126
	// 125
}

// A detached web server with a published port and a named volume, its logs followed
// until it stops (docker run -d -p -v, docker logs -f, docker stop).
func ExampleEngine_Create_detached() {
	e, err := skiff.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	port, _ := netbridge.ParsePortMapping("8080:80")
	c, err := e.Create(ctx, skiff.ContainerConfig{
		Image:  "127.0.0.1:5000/busybox:latest",
		Name:   "web",
		Cmd:    []string{"httpd", "-f", "-p", "80", "-h", "/www"},
		Ports:  []netbridge.PortMapping{port},
		Mounts: []skiff.Mount{{Type: skiff.MountVolume, Source: "www", Target: "/www"}},
		Detach: true,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := c.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	go c.Logs(ctx, skiff.LogOptions{Follow: true, Tail: -1}, os.Stdout, os.Stderr)
	// ... later, from this or any other process on the same root:
	c.Stop(ctx, 10*time.Second)
	c.Delete(ctx)
}

// Build an image from a Dockerfile in a context directory, then run it.
func ExampleEngine_Build() {
	e, err := skiff.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	img, err := e.Build(ctx, skiff.BuildOptions{
		ContextDir: ".",
		Tags:       []string{"app:1"},
		BuildArgs:  map[string]string{"VERSION": "1.2.3"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	st, err := e.Run(ctx, skiff.ContainerConfig{Image: img.ID.String(), AutoRemove: true, Stdout: os.Stdout})
	fmt.Println(st.Code, err)
}

// Run a command inside a running container (docker exec).
func ExampleContainer_Exec() {
	e, err := skiff.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	c, err := e.Container(ctx, "web")
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := c.Exec(ctx, skiff.ExecConfig{Cmd: []string{"ls", "/www"}, Stdout: os.Stdout})
	if err != nil {
		fmt.Println(err)
		return
	}
	code, err := p.Wait()
	fmt.Println(code, err)
}
