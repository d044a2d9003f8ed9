package skiff_test

import (
	"context"
	"fmt"
	"os"

	"github.com/skiffrt/skiff"
)

// A long-lived program that runs many short containers keeps one init started ahead
// of time: each Run hands its container to it and a new one starts in the background.
func ExampleWithWarmInit() {
	e, err := skiff.New(skiff.WithWarmInit())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Close() // kills the warm init nobody used
	for _, word := range []string{"one", "two", "three"} {
		st, err := e.Run(context.Background(), skiff.ContainerConfig{
			Image:      "127.0.0.1:5000/busybox:latest",
			Cmd:        []string{"echo", word},
			Stdout:     os.Stdout,
			AutoRemove: true,
		})
		fmt.Println(st.Code, err)
	}
}
