package builder

import (
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/skiffrt/skiff/dockerfile"
)

// defaultShell is the SHELL of an image that sets none.
var defaultShell = []string{"/bin/sh", "-c"}

func shellOf(c *v1.Config) []string {
	if len(c.Shell) > 0 {
		return c.Shell
	}
	return defaultShell
}

// commandArgs turns a CMD/ENTRYPOINT/RUN command into argv: the exec form as
// written, the shell form behind the config's SHELL.
func commandArgs(c *v1.Config, cmd dockerfile.Command) []string {
	if !cmd.Shell {
		return append([]string{}, cmd.Args...)
	}
	script := ""
	if len(cmd.Args) > 0 {
		script = cmd.Args[0]
	}
	return append(append([]string{}, shellOf(c)...), script)
}

func setEnv(env []string, k, v string) []string {
	for i, kv := range env {
		if name, _, _ := strings.Cut(kv, "="); name == k {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}

func jsonArgs(a []string) string {
	b, _ := json.Marshal(a)
	return string(b)
}

// applyMeta applies a metadata instruction (already expanded) to cf and
// returns its history text. cmdSet tracks whether the stage set CMD, which
// ENTRYPOINT then keeps (Docker resets an inherited CMD).
func applyMeta(cf *v1.ConfigFile, in dockerfile.Instruction, cmdSet *bool) (string, error) {
	c := &cf.Config
	switch v := in.(type) {
	case *dockerfile.EnvInstruction:
		parts := make([]string, 0, len(v.Env))
		for _, kv := range v.Env {
			c.Env = setEnv(c.Env, kv.Key, kv.Value)
			parts = append(parts, kv.Key+"="+kv.Value)
		}
		return "ENV " + strings.Join(parts, " "), nil
	case *dockerfile.LabelInstruction:
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		parts := make([]string, 0, len(v.Labels))
		for _, kv := range v.Labels {
			c.Labels[kv.Key] = kv.Value
			parts = append(parts, kv.Key+"="+kv.Value)
		}
		return "LABEL " + strings.Join(parts, " "), nil
	case *dockerfile.MaintainerInstruction:
		cf.Author = v.Maintainer
		return "MAINTAINER " + v.Maintainer, nil
	case *dockerfile.CmdInstruction:
		c.Cmd = commandArgs(c, v.Command)
		*cmdSet = true
		return "CMD " + jsonArgs(c.Cmd), nil
	case *dockerfile.EntrypointInstruction:
		c.Entrypoint = nil
		if len(v.Args) > 0 {
			c.Entrypoint = commandArgs(c, v.Command)
		}
		if !*cmdSet {
			c.Cmd = nil
		}
		return "ENTRYPOINT " + jsonArgs(c.Entrypoint), nil
	case *dockerfile.WorkdirInstruction:
		p := v.Path
		if !path.IsAbs(p) {
			wd := c.WorkingDir
			if wd == "" {
				wd = "/"
			}
			p = path.Join(wd, p)
		}
		c.WorkingDir = path.Clean(p)
		return "WORKDIR " + c.WorkingDir, nil
	case *dockerfile.UserInstruction:
		c.User = v.User
		return "USER " + v.User, nil
	case *dockerfile.ExposeInstruction:
		if c.ExposedPorts == nil {
			c.ExposedPorts = map[string]struct{}{}
		}
		var ports []string
		for _, p := range v.Ports {
			if !strings.Contains(p, "/") {
				p += "/tcp"
			}
			num, proto, _ := strings.Cut(p, "/")
			p = num + "/" + strings.ToLower(proto)
			c.ExposedPorts[p] = struct{}{}
			ports = append(ports, p)
		}
		sort.Strings(ports)
		return "EXPOSE " + strings.Join(ports, " "), nil
	case *dockerfile.VolumeInstruction:
		if c.Volumes == nil {
			c.Volumes = map[string]struct{}{}
		}
		for _, vol := range v.Volumes {
			if strings.TrimSpace(vol) == "" {
				return "", fmt.Errorf("VOLUME specified can not be an empty string")
			}
			c.Volumes[vol] = struct{}{}
		}
		return "VOLUME " + jsonArgs(v.Volumes), nil
	case *dockerfile.StopSignalInstruction:
		c.StopSignal = v.Signal
		return "STOPSIGNAL " + v.Signal, nil
	case *dockerfile.HealthcheckInstruction:
		c.Healthcheck = &v1.HealthConfig{Test: v.Test, Interval: v.Interval, Timeout: v.Timeout,
			StartPeriod: v.StartPeriod, Retries: v.Retries}
		return "HEALTHCHECK " + jsonArgs(v.Test), nil
	case *dockerfile.ShellInstruction:
		c.Shell = append([]string{}, v.Shell...)
		return "SHELL " + jsonArgs(c.Shell), nil
	case *dockerfile.OnbuildInstruction:
		c.OnBuild = append(c.OnBuild, v.Expression)
		return "ONBUILD " + v.Expression, nil
	}
	return "", fmt.Errorf("%w: instruction %s", ErrUnsupported, in.Keyword())
}

// ApplyChanges applies Dockerfile instructions to an image config, as
// `docker commit --change` and `docker import --change` do: CMD, ENTRYPOINT,
// ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR, SHELL,
// HEALTHCHECK. Variables expand against the config's Env.
func ApplyChanges(cf *v1.ConfigFile, changes []string) error {
	if len(changes) == 0 {
		return nil
	}
	f, err := dockerfile.ParseFile(strings.NewReader("FROM scratch\n" + strings.Join(changes, "\n") + "\n"))
	if err != nil {
		return fmt.Errorf("invalid --change: %w", err)
	}
	env := map[string]string{}
	for _, kv := range cf.Config.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	scope := f.NewScope(env, nil, nil)
	cmdSet := true
	for _, in := range f.Stages[0].Instructions {
		switch in.(type) {
		case *dockerfile.RunInstruction, *dockerfile.CopyInstruction, *dockerfile.AddInstruction,
			*dockerfile.ArgInstruction, *dockerfile.MaintainerInstruction:
			return fmt.Errorf("invalid --change %q: %s is not allowed", firstLine(in.Node().Original), in.Keyword())
		}
		if x, ok := in.(dockerfile.Expandable); ok {
			if err := scope.Expand(x); err != nil {
				return fmt.Errorf("invalid --change: %w", err)
			}
		}
		if _, err := applyMeta(cf, in, &cmdSet); err != nil {
			return fmt.Errorf("invalid --change %q: %w", firstLine(in.Node().Original), err)
		}
	}
	return nil
}
