package main

import (
	"encoding/json"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// applyChange applies one `--change` Dockerfile instruction to an image config.
func applyChange(cfg *v1.Config, change string) error {
	instr, rest, _ := strings.Cut(strings.TrimSpace(change), " ")
	rest = strings.TrimSpace(rest)
	words := func() []string {
		var list []string
		if strings.HasPrefix(rest, "[") && json.Unmarshal([]byte(rest), &list) == nil {
			return list
		}
		return []string{"/bin/sh", "-c", rest}
	}
	switch strings.ToUpper(instr) {
	case "CMD":
		cfg.Cmd = words()
	case "ENTRYPOINT":
		cfg.Entrypoint = words()
	case "ENV":
		k, v, ok := strings.Cut(rest, "=")
		if !ok {
			k, v, _ = strings.Cut(rest, " ")
		}
		cfg.Env = append(cfg.Env, strings.TrimSpace(k)+"="+strings.TrimSpace(v))
	case "WORKDIR":
		cfg.WorkingDir = rest
	case "USER":
		cfg.User = rest
	default:
		return fmt.Errorf("invalid --change %q: %s is not supported here (CMD, ENTRYPOINT, ENV, WORKDIR, USER)", change, instr)
	}
	return nil
}
