package overlay_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

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

// Diff turns an upper dir into an OCI layer tar. Here the "upper" is a plain
// directory; in an overlay's upper, 0:0 character devices and opaque dirs
// would also become .wh. entries.
func ExampleDiff() {
	upper, _ := os.MkdirTemp("", "skiff-upper")
	defer os.RemoveAll(upper)
	os.MkdirAll(upper+"/app/out", 0o755)
	os.WriteFile(upper+"/app/greeting", []byte("hello\n"), 0o644)
	os.Symlink("greeting", upper+"/app/link")
	for _, p := range []string{"/app", "/app/out"} {
		os.Chmod(upper+p, 0o755) // independent of the umask
	}
	os.Chmod(upper+"/app/greeting", 0o644)

	var buf bytes.Buffer
	epoch := time.Unix(0, 0).UTC()
	if err := overlay.Diff(context.Background(), nil, upper, &buf, overlay.DiffOptions{SourceDateEpoch: epoch}); err != nil {
		fmt.Println(err)
		return
	}
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		fmt.Printf("%c %s %o %s\n", h.Typeflag, h.Name, h.Mode, h.ModTime.UTC().Format(time.RFC3339))
	}
	// Output:
	// 5 app/ 755 1970-01-01T00:00:00Z
	// 0 app/greeting 644 1970-01-01T00:00:00Z
	// 2 app/link 777 1970-01-01T00:00:00Z
	// 5 app/out/ 755 1970-01-01T00:00:00Z
}
