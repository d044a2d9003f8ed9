package builder_test

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/skiffrt/skiff/builder"
)

// ApplyChanges is `docker commit --change`: Dockerfile instructions applied
// to an image config.
func ExampleApplyChanges() {
	cf := &v1.ConfigFile{Config: v1.Config{Env: []string{"HOME=/root"}}}
	err := builder.ApplyChanges(cf, []string{
		`ENV DATA=$HOME/data`,
		`CMD ["serve", "--port", "80"]`,
		`EXPOSE 80`,
		`WORKDIR /srv`,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cf.Config.Env, cf.Config.Cmd, cf.Config.WorkingDir, len(cf.Config.ExposedPorts))
	// Output: [HOME=/root DATA=/root/data] [serve --port 80] /srv 1
}
