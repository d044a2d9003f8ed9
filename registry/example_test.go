package registry_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/skiffrt/skiff/registry"
)

// Store an image, then find it by its short name.
func Example() {
	dir, err := os.MkdirTemp("", "skiff-images-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	store, err := registry.Open(dir)
	if err != nil {
		panic(err)
	}
	img, err := random.Image(1024, 2) // any v1.Image; Pull fetches one from a registry
	if err != nil {
		panic(err)
	}
	if _, err := store.Write(ctx, "127.0.0.1:5000/demo:v1", img); err != nil {
		panic(err)
	}
	im, err := store.Image(ctx, "127.0.0.1:5000/demo:v1")
	if err != nil {
		panic(err)
	}
	fmt.Println(im.Name, len(im.Layers), "layers")
	// Output: 127.0.0.1:5000/demo:v1 2 layers
}

func ExampleNormalize() {
	for _, ref := range []string{"busybox", "user/app:v2", "127.0.0.1:5000/busybox"} {
		n, _ := registry.Normalize(ref)
		fmt.Println(n)
	}
	// Output:
	// docker.io/library/busybox:latest
	// docker.io/user/app:v2
	// 127.0.0.1:5000/busybox:latest
}

// Pull an image from a registry (here go-containerregistry's in-process one) into the store,
// with progress events.
func ExampleStore_Pull() {
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img, _ := random.Image(1024, 3)
	ref, _ := name.ParseReference(host + "/demo/app:v1")
	if err := remote.Write(ref, img); err != nil {
		panic(err)
	}

	dir, _ := os.MkdirTemp("", "skiff-images-")
	defer os.RemoveAll(dir)
	store, _ := registry.Open(dir)
	done := 0
	im, err := store.Pull(context.Background(), host+"/demo/app:v1", registry.WithProgress(func(p registry.Progress) {
		if p.State == registry.Done {
			done++
		}
	}))
	if err != nil {
		panic(err)
	}
	fmt.Println(len(im.Layers), "layers,", done, "downloaded and verified")
	// Output: 3 layers, 3 downloaded and verified
}
