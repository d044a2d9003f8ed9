package skiff_test

import (
	"context"
	"fmt"
	"os"

	"github.com/skiffrt/skiff"
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
