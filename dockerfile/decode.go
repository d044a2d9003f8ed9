package dockerfile

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

var instructionNames = []string{"ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM",
	"HEALTHCHECK", "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"}

// decodeError wraps err with the node's location.
func decodeError(n *Node, err error) error {
	return &Error{Line: n.StartLine, EndLine: n.EndLine, Instruction: n.Name(), Err: err}
}

func argsErr(format string, args ...any) error { return errorf(ErrArguments, format, args...) }

var (
	errAtLeastOne    = argsErr("requires at least one argument")
	errExactlyOne    = argsErr("requires exactly one argument")
	errNoDestination = argsErr("requires at least two arguments, but only one was provided. Destination could not be determined")
	errBlankName     = argsErr("names can not be blank")
)

// decodeInstruction turns a node into a typed instruction, or a *Stage for
// FROM. Errors are plain (decodeError adds the location).
func decodeInstruction(n *Node) (Instruction, error) {
	base := instr{node: n}
	noFlags := func() error { _, err := parseFlags(n.Flags, nil); return err }
	switch strings.ToLower(n.Keyword) {
	case "env", "label":
		if err := noFlags(); err != nil {
			return nil, err
		}
		if len(n.Pairs) == 0 {
			return nil, errAtLeastOne
		}
		kvs := make([]KeyValue, len(n.Pairs))
		for i, p := range n.Pairs {
			if p.Key == "" {
				return nil, errBlankName
			}
			kvs[i] = KeyValue{Key: p.Key, Value: p.Value, Legacy: p.Legacy}
		}
		if strings.EqualFold(n.Keyword, "env") {
			return &EnvInstruction{instr: base, Env: kvs}, nil
		}
		return &LabelInstruction{instr: base, Labels: kvs}, nil
	case "maintainer":
		if len(n.Args) != 1 {
			return nil, errExactlyOne
		}
		if err := noFlags(); err != nil {
			return nil, err
		}
		return &MaintainerInstruction{instr: base, Maintainer: n.Args[0]}, nil
	case "add":
		if len(n.Args) < 2 {
			return nil, errNoDestination
		}
		fv, err := parseFlags(n.Flags, flagSpec{"chown": stringFlag, "chmod": stringFlag, "link": boolFlag,
			"keep-git-dir": boolFlag, "checksum": stringFlag, "unpack": boolFlag, "exclude": stringsFlag})
		if err != nil {
			return nil, err
		}
		sd, err := sourcesAndDest(n)
		if err != nil {
			return nil, err
		}
		return &AddInstruction{instr: base, SourcesAndDest: sd, Chown: fv.str("chown"), Chmod: fv.str("chmod"),
			Checksum: fv.str("checksum"), Link: fv.boolean("link"), KeepGitDir: fv.optBool("keep-git-dir"),
			Unpack: fv.optBool("unpack"), Exclude: fv.strs("exclude")}, nil
	case "copy":
		if len(n.Args) < 2 {
			return nil, errNoDestination
		}
		fv, err := parseFlags(n.Flags, flagSpec{"chown": stringFlag, "from": stringFlag, "chmod": stringFlag,
			"link": boolFlag, "exclude": stringsFlag, "parents": boolFlag})
		if err != nil {
			return nil, err
		}
		sd, err := sourcesAndDest(n)
		if err != nil {
			return nil, err
		}
		return &CopyInstruction{instr: base, SourcesAndDest: sd, From: fv.str("from"), Chown: fv.str("chown"),
			Chmod: fv.str("chmod"), Link: fv.boolean("link"), Parents: fv.boolean("parents"), Exclude: fv.strs("exclude")}, nil
	case "from":
		return decodeFrom(n)
	case "onbuild":
		if len(n.Children) == 0 {
			return nil, errAtLeastOne
		}
		if err := noFlags(); err != nil {
			return nil, err
		}
		switch t := strings.ToUpper(strings.TrimSpace(n.Children[0].Keyword)); t {
		case "ONBUILD":
			return nil, argsErr("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
		case "MAINTAINER", "FROM":
			return nil, argsErr("%s isn't allowed as an ONBUILD trigger", t)
		}
		expr := onbuildPrefix().ReplaceAllString(n.Original, "")
		if len(n.Heredocs) > 0 {
			var b strings.Builder
			b.WriteString(expr)
			for _, h := range n.Heredocs {
				b.WriteByte('\n')
				b.WriteString(h.Content)
				b.WriteString(h.Name)
			}
			expr = b.String()
		}
		return &OnbuildInstruction{instr: base, Expression: expr}, nil
	case "workdir":
		if len(n.Args) != 1 {
			return nil, errExactlyOne
		}
		if err := noFlags(); err != nil {
			return nil, err
		}
		return &WorkdirInstruction{instr: base, Path: n.Args[0]}, nil
	case "run":
		return decodeRun(n)
	case "cmd":
		if err := noFlags(); err != nil {
			return nil, err
		}
		return &CmdInstruction{instr: base, Command: commandFrom(n)}, nil
	case "entrypoint":
		if err := noFlags(); err != nil {
			return nil, err
		}
		c := commandFrom(n)
		if len(c.Args) == 0 {
			c.Args = nil
		}
		return &EntrypointInstruction{instr: base, Command: c}, nil
	case "healthcheck":
		return decodeHealthcheck(n)
	case "expose":
		if len(n.Args) == 0 {
			return nil, errAtLeastOne
		}
		if err := noFlags(); err != nil {
			return nil, err
		}
		ports := slices.Clone(n.Args)
		slices.Sort(ports)
		return &ExposeInstruction{instr: base, Ports: ports}, nil
	case "user":
		if len(n.Args) != 1 {
			return nil, errExactlyOne
		}
		if err := noFlags(); err != nil {
			return nil, err
		}
		return &UserInstruction{instr: base, User: n.Args[0]}, nil
	case "volume":
		if len(n.Args) == 0 {
			return nil, errAtLeastOne
		}
		if err := noFlags(); err != nil {
			return nil, err
		}
		v := &VolumeInstruction{instr: base}
		for _, a := range n.Args {
			a = strings.TrimSpace(a)
			if a == "" {
				return nil, argsErr("VOLUME specified can not be an empty string")
			}
			v.Volumes = append(v.Volumes, a)
		}
		return v, nil
	case "stopsignal":
		// As in BuildKit, STOPSIGNAL does not look at flags.
		if len(n.Args) != 1 {
			return nil, errExactlyOne
		}
		return &StopSignalInstruction{instr: base, Signal: n.Args[0]}, nil
	case "arg":
		// As in BuildKit, ARG does not look at flags.
		if len(n.Args) == 0 {
			return nil, errAtLeastOne
		}
		a := &ArgInstruction{instr: base, Args: make([]ArgDef, len(n.Args))}
		for i, w := range n.Args {
			k, v, ok := strings.Cut(w, "=")
			if ok {
				if k == "" {
					return nil, errBlankName
				}
				a.Args[i] = ArgDef{Key: k, Value: &v}
			} else {
				a.Args[i] = ArgDef{Key: w}
			}
		}
		return a, nil
	case "shell":
		if err := noFlags(); err != nil {
			return nil, err
		}
		c := commandFrom(n)
		switch {
		case len(c.Args) == 0:
			return nil, errAtLeastOne
		case !n.JSON:
			return nil, argsErr("requires the arguments to be in JSON form")
		}
		return &ShellInstruction{instr: base, Shell: c.Args}, nil
	}
	msg := "unknown instruction: " + n.Keyword
	if s := suggest(n.Keyword, instructionNames, false); s != "" {
		msg += " (did you mean " + s + "?)"
	}
	return nil, errorf(ErrUnknownInstruction, "%s", msg)
}

// Regexps are compiled on first use, not at package init: every start of a binary that
// embeds Skiff (container inits and monitors included) would pay for them.
var onbuildPrefix = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)^\s*ONBUILD\s*`) })

func sourcesAndDest(n *Node) (SourcesAndDest, error) {
	srcs, dest := n.Args[:len(n.Args)-1], n.Args[len(n.Args)-1]
	if h, _ := parseHeredocWord(dest); h != nil {
		return SourcesAndDest{}, errorf(ErrHeredoc, "cannot accept a heredoc as a destination")
	}
	sd := SourcesAndDest{Dest: dest}
	for _, s := range srcs {
		h, _ := parseHeredocWord(s)
		if h == nil {
			sd.Sources = append(sd.Sources, s)
			continue
		}
		var data string
		for _, d := range n.Heredocs {
			if d.Name == h.Name {
				data = d.Content
			}
		}
		if h.Chomp {
			data = chompTabs(data)
		}
		sd.Contents = append(sd.Contents, SourceContent{Path: h.Name, Data: data, Expand: h.Expand})
	}
	return sd, nil
}

var stageName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile("^[a-z][a-z0-9-_.]*$") })

func decodeFrom(n *Node) (*Stage, error) {
	var name string
	switch {
	case len(n.Args) == 3 && strings.EqualFold(n.Args[1], "as"):
		name = strings.ToLower(n.Args[2])
		if !stageName().MatchString(name) {
			return nil, argsErr("invalid name for build stage: %q, name can't start with a number or contain symbols", n.Args[2])
		}
	case len(n.Args) != 1:
		return nil, argsErr("requires either one or three arguments")
	}
	fv, err := parseFlags(n.Flags, flagSpec{"platform": stringFlag})
	if err != nil {
		return nil, err
	}
	return &Stage{instr: instr{node: n}, Name: name, BaseName: n.Args[0], Platform: fv.str("platform")}, nil
}

func decodeRun(n *Node) (*RunInstruction, error) {
	fv, err := parseFlags(n.Flags, flagSpec{"device": stringsFlag, "mount": stringsFlag, "network": stringFlag, "security": stringFlag})
	if err != nil {
		return nil, err
	}
	r := &RunInstruction{instr: instr{node: n}, Command: commandFrom(n), MountSpecs: fv.strs("mount"),
		Network: "default", Security: "sandbox"}
	for _, d := range fv.strs("device") {
		dev, err := parseDevice(d)
		if err != nil {
			return nil, err
		}
		r.Devices = append(r.Devices, *dev)
	}
	for _, m := range r.MountSpecs {
		if err := checkMountSpec(m); err != nil {
			return nil, err
		}
	}
	if fv.isSet("network") {
		r.Network = fv.str("network")
	}
	switch r.Network {
	case "default", "none", "host":
	default:
		return nil, errorf(ErrInvalidFlag, "invalid network mode %q", r.Network)
	}
	if fv.isSet("security") {
		r.Security = fv.str("security")
	}
	switch r.Security {
	case "sandbox", "insecure":
	default:
		return nil, errorf(ErrInvalidFlag, "security %q is not valid", r.Security)
	}
	return r, nil
}

func decodeHealthcheck(n *Node) (*HealthcheckInstruction, error) {
	if len(n.Args) == 0 {
		return nil, errAtLeastOne
	}
	h := &HealthcheckInstruction{instr: instr{node: n}}
	typ := strings.ToUpper(n.Args[0])
	args := n.Args[1:]
	if typ == "NONE" {
		// As in BuildKit, flags are not looked at with NONE.
		if len(args) != 0 {
			return nil, argsErr("HEALTHCHECK NONE takes no arguments")
		}
		h.Test = []string{typ}
		return h, nil
	}
	fv, err := parseFlags(n.Flags, flagSpec{"interval": stringFlag, "timeout": stringFlag,
		"start-period": stringFlag, "start-interval": stringFlag, "retries": stringFlag})
	if err != nil {
		return nil, err
	}
	if typ != "CMD" {
		return nil, argsErr("Unknown type %q in HEALTHCHECK (try CMD)", typ)
	}
	var cmd []string
	switch {
	case len(args) == 0:
	case n.JSON:
		cmd = args
	default:
		cmd = []string{strings.Join(args, " ")}
	}
	if len(cmd) == 0 {
		return nil, argsErr("Missing command after HEALTHCHECK CMD")
	}
	if !n.JSON {
		typ = "CMD-SHELL"
	}
	h.Test = append([]string{typ}, cmd...)
	for _, f := range []struct {
		name string
		d    *time.Duration
	}{{"interval", &h.Interval}, {"timeout", &h.Timeout}, {"start-period", &h.StartPeriod}, {"start-interval", &h.StartInterval}} {
		s := fv.str(f.name)
		if s == "" {
			continue
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return nil, errorf(ErrInvalidFlag, "%v", err)
		}
		if d != 0 && d < time.Millisecond {
			return nil, errorf(ErrInvalidFlag, "Interval %q cannot be less than 1ms", f.name)
		}
		*f.d = d
	}
	if s := fv.str("retries"); s != "" {
		r, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return nil, errorf(ErrInvalidFlag, "%v", err)
		}
		if r < 0 {
			return nil, errorf(ErrInvalidFlag, "--retries cannot be negative (%d)", r)
		}
		h.Retries = int(r)
	}
	return h, nil
}
