// Command hello is the smallest embedding of Skiff: it makes an image of the host's
// static busybox (apt-get install busybox-static), runs `echo` in a container of it and
// prints the exit code. Run it as root: go run ./examples/hello
package main

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"log"
	"os"

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
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarFile(pw, "/bin/busybox", "bin/busybox")) }()
	if _, err := e.Import(ctx, "hello:latest", pr, v1.Config{Cmd: []string{"/bin/busybox", "sh"}}); err != nil {
		log.Fatal(err)
	}
	st, err := e.Run(ctx, skiff.ContainerConfig{
		Image: "hello:latest", Cmd: []string{"/bin/busybox", "echo", "hello from a skiff container"},
		Network: skiff.NetworkNone, Stdout: os.Stdout, Stderr: os.Stderr, AutoRemove: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("exit code:", st.Code)
}

// tarFile writes a one-file tar stream: the host file src at name.
func tarFile(w io.Writer, src, name string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: fi.Size(), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := io.Copy(tw, f); err != nil {
		return err
	}
	return tw.Close()
}
