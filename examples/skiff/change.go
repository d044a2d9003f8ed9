package main

import (
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/skiffrt/skiff/builder"
)

// applyChange applies one `--change` Dockerfile instruction (CMD, ENTRYPOINT, ENV,
// EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR, SHELL, HEALTHCHECK) to an
// image config, parsed by the dockerfile package as docker does.
func applyChange(cfg *v1.Config, change string) error {
	cf := &v1.ConfigFile{Config: *cfg}
	if err := builder.ApplyChanges(cf, []string{change}); err != nil {
		return err
	}
	*cfg = cf.Config
	return nil
}
