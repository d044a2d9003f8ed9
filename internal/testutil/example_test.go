package testutil_test

import (
	"fmt"

	"github.com/skiffrt/skiff/internal/testutil"
)

// BuildBusybox is what Busybox(t) caches; outside a test it is called directly.
func ExampleBuildBusybox() {
	img, err := testutil.BuildBusybox(testutil.BusyboxPath)
	if err != nil {
		fmt.Println(err)
		return
	}
	layers, _ := img.Layers()
	cf, _ := img.ConfigFile()
	fmt.Println(len(layers), cf.Config.Cmd, cf.OS)
	// Output: 3 [sh] linux
}
