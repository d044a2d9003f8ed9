package overlay_test

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/skiffrt/skiff/overlay"
)

// Prepare describes the mount of a container's root file system; applying it
// (m.Mount(dir + "/merged")) needs root. With no layers the lower dir is the
// store's shared empty directory.
func ExampleStore_Prepare() {
	root, _ := os.MkdirTemp("", "skiff-example")
	defer os.RemoveAll(root)
	s, err := overlay.NewStore(root)
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := s.Prepare(context.Background(), root+"/containers/c1", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Type, m.Source)
	for _, o := range m.Options {
		k, v, _ := strings.Cut(o, "=")
		fmt.Println(k, strings.TrimPrefix(v, root))
	}
	// Output:
	// overlay overlay
	// index off
	// redirect_dir off
	// lowerdir /layers/empty
	// upperdir /containers/c1/upper
	// workdir /containers/c1/work
}
