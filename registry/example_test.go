package registry_test

import (
	"context"
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/v1/random"
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
