// Command hello is the smallest embedding of Skiff: it makes an image of the host's
// static busybox (apt-get install busybox-static), runs `echo` in a container of it and
// prints the exit code. Run it as root: go run ./examples/hello
package main

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"testing/fstest"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/skiffrt/skiff"
)

func main() {
	skiff.Init() // first: in the container's init this never returns
	ctx := context.Background()
	e, err := skiff.New(skiff.WithRoot(os.TempDir() + "/skiff-hello"))
	if err != nil {
		log.Fatal(err)
	}
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		log.Fatal(err)
	}
	var rootfs bytes.Buffer // a one-file root filesystem, as a tar stream
	tw := tar.NewWriter(&rootfs)
	tw.AddFS(fstest.MapFS{"bin/busybox": {Data: busybox, Mode: 0o755}})
	tw.Close()
	if _, err := e.Import(ctx, "hello:latest", &rootfs, v1.Config{Cmd: []string{"/bin/busybox", "sh"}}); err != nil {
		log.Fatal(err)
	}
	st, err := e.Run(ctx, skiff.ContainerConfig{
		Image: "hello:latest", Cmd: []string{"/bin/busybox", "echo", "hello from a skiff container"},
		Network: skiff.NetworkNone, Stdout: os.Stdout, Stderr: os.Stderr, AutoRemove: true,
	})
	fmt.Println("exit code:", st.Code, err)
}
