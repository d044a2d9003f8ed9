package dockerfile

import (
	"io"
	"strconv"
	"strings"
)

// Stage is a build stage: a FROM and the instructions after it.
type Stage struct {
	instr
	// Index is the stage's position, from 0.
	Index int
	// Name is the lower-cased name from "FROM image AS name", or "".
	Name string
	// BaseName is the image or stage as written, before expansion.
	BaseName string
	// Platform is --platform as written, before expansion.
	Platform string
	// Instructions are the stage's instructions after FROM.
	Instructions []Instruction
}

// Keyword implements Instruction.
func (*Stage) Keyword() string { return "FROM" }

// ExpandFrom expands the base name and platform against the global scope
// (the built-in ARGs and the ARGs before the first FROM).
func (s *Stage) ExpandFrom(x Expander, global Env) (base, platform string, err error) {
	if base, err = x.Word(s.BaseName, global); err != nil {
		return "", "", decodeError(s.node, err)
	}
	if s.Platform != "" {
		if platform, err = x.Word(s.Platform, global); err != nil {
			return "", "", decodeError(s.node, err)
		}
	}
	return base, platform, nil
}

// File is a decoded Dockerfile: the ARGs before the first FROM and the
// stages.
type File struct {
	// Syntax is the syntax tree the file was decoded from.
	Syntax *Result
	// MetaArgs are the ARG instructions before the first FROM. Their names
	// are visible in FROM lines; inside a stage only when re-declared.
	MetaArgs []*ArgInstruction
	Stages   []*Stage
	// Warnings holds the parser's warnings and the decoder's
	// (MaintainerDeprecated, LegacyKeyValueFormat, JSONArgsRecommended).
	Warnings []Warning
}

// Expander returns an Expander for the file's escape character.
func (f *File) Expander() Expander { return Expander{Escape: f.Syntax.Escape} }

// Stage finds a stage by name (case-insensitive) or by index ("0", "1").
func (f *File) Stage(ref string) (*Stage, bool) {
	l := strings.ToLower(ref)
	for _, s := range f.Stages {
		if s.Name != "" && s.Name == l {
			return s, true
		}
	}
	if i, err := strconv.Atoi(ref); err == nil && i >= 0 && i < len(f.Stages) {
		return f.Stages[i], true
	}
	return nil, false
}

// ParseFile parses and decodes a Dockerfile. Errors are *Error.
func ParseFile(r io.Reader) (*File, error) {
	res, err := Parse(r)
	if err != nil {
		return nil, err
	}
	return res.File()
}

// File decodes the syntax tree into typed instructions grouped in stages,
// rejecting unknown instructions and flags and bad arguments. Errors are
// *Error.
func (r *Result) File() (*File, error) {
	f := &File{Syntax: r, Warnings: append([]Warning(nil), r.Warnings...)}
	for _, n := range r.Root.Children {
		in, err := decodeInstruction(n)
		if err != nil {
			return nil, decodeError(n, err)
		}
		f.Warnings = append(f.Warnings, lint(n)...)
		if st, ok := in.(*Stage); ok {
			st.Index = len(f.Stages)
			f.Stages = append(f.Stages, st)
			continue
		}
		if len(f.Stages) == 0 {
			if a, ok := in.(*ArgInstruction); ok {
				f.MetaArgs = append(f.MetaArgs, a)
				continue
			}
			return nil, decodeError(n, ErrNoStage)
		}
		cur := f.Stages[len(f.Stages)-1]
		cur.Instructions = append(cur.Instructions, in)
	}
	return f, nil
}

func lint(n *Node) []Warning {
	var w []Warning
	switch strings.ToLower(n.Keyword) {
	case "maintainer":
		w = append(w, Warning{Line: n.StartLine, Rule: "MaintainerDeprecated",
			Message: "Maintainer instruction is deprecated in favor of using label"})
	case "env", "label":
		if len(n.Pairs) == 1 && n.Pairs[0].Legacy {
			w = append(w, Warning{Line: n.StartLine, Rule: "LegacyKeyValueFormat",
				Message: `"` + n.Name() + ` key=value" should be used instead of legacy "` + n.Name() + ` key value" format`})
		}
	case "cmd", "entrypoint":
		if !n.JSON && len(n.Args) > 0 {
			w = append(w, Warning{Line: n.StartLine, Rule: "JSONArgsRecommended",
				Message: "JSON arguments recommended for " + n.Name() + " to prevent unintended behavior related to OS signals"})
		}
	}
	return w
}

// Platform names an OS and CPU for the built-in platform ARGs.
type Platform struct {
	OS, Architecture, Variant, OSVersion string
}

// String formats the platform as "os/arch[/variant]".
func (p Platform) String() string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// BuiltinArgs returns the ARGs BuildKit defines for every build:
// BUILDPLATFORM, BUILDOS, BUILDOSVERSION, BUILDARCH, BUILDVARIANT,
// TARGETPLATFORM, TARGETOS, TARGETOSVERSION, TARGETARCH, TARGETVARIANT and
// TARGETSTAGE (target, or "default" when empty).
func BuiltinArgs(build, target Platform, targetStage string) MapEnv {
	if targetStage == "" {
		targetStage = "default"
	}
	return MapEnv{
		"BUILDPLATFORM": build.String(), "BUILDOS": build.OS, "BUILDOSVERSION": build.OSVersion,
		"BUILDARCH": build.Architecture, "BUILDVARIANT": build.Variant,
		"TARGETPLATFORM": target.String(), "TARGETOS": target.OS, "TARGETOSVERSION": target.OSVersion,
		"TARGETARCH": target.Architecture, "TARGETVARIANT": target.Variant,
		"TARGETSTAGE": targetStage,
	}
}

// GlobalArgs evaluates the ARGs before the first FROM, in order, starting
// from builtin (see BuiltinArgs, whose values buildArgs may override). A
// build arg replaces an ARG's default; a default is expanded against the
// ARGs before it. The result is the scope of FROM lines, and where an ARG
// re-declared in a stage without a default takes its value.
func (f *File) GlobalArgs(builtin, buildArgs map[string]string) (MapEnv, error) {
	env := MapEnv{}
	for k, v := range builtin {
		if o, ok := buildArgs[k]; ok {
			v = o
		}
		env[k] = v
	}
	x := f.Expander()
	for _, a := range f.MetaArgs {
		for _, d := range a.Args {
			if v, ok := buildArgs[d.Key]; ok {
				env[d.Key] = v
				continue
			}
			if d.Value == nil {
				continue
			}
			v, err := x.Word(*d.Value, env)
			if err != nil {
				return nil, decodeError(a.node, err)
			}
			env[d.Key] = v
		}
	}
	return env, nil
}

// Scope is the variables visible inside one stage while it is built: the
// base image's environment, then each ARG and ENV in order. It implements
// Env.
type Scope struct {
	x         Expander
	global    Env
	buildArgs map[string]string
	vars      MapEnv
}

// NewScope starts a stage's scope. image is the base image's environment
// (may be nil), global the result of GlobalArgs, buildArgs the --build-arg
// values.
func (f *File) NewScope(image map[string]string, global Env, buildArgs map[string]string) *Scope {
	vars := MapEnv{}
	for k, v := range image {
		vars[k] = v
	}
	return &Scope{x: f.Expander(), global: global, buildArgs: buildArgs, vars: vars}
}

// Lookup implements Env.
func (s *Scope) Lookup(name string) (string, bool) { return s.vars.Lookup(name) }

// Declare applies an ARG: a build arg wins, then the expanded default, then
// the global value of an ARG of the same name declared before the first
// FROM (or a built-in one). An ARG with none of these stays unset.
func (s *Scope) Declare(a *ArgInstruction) error {
	for _, d := range a.Args {
		if v, ok := s.buildArgs[d.Key]; ok {
			s.vars[d.Key] = v
			continue
		}
		if d.Value == nil {
			if s.global != nil {
				if v, ok := s.global.Lookup(d.Key); ok {
					s.vars[d.Key] = v
				}
			}
			continue
		}
		v, err := s.x.Word(*d.Value, s)
		if err != nil {
			return decodeError(a.node, err)
		}
		s.vars[d.Key] = v
	}
	return nil
}

// Expand expands an instruction in place against the scope and, for ENV,
// records the new variables. EXPOSE ports are split into words, heredoc
// bodies of ADD and COPY with unquoted delimiters are expanded too.
func (s *Scope) Expand(in Expandable) error {
	var err error
	switch v := in.(type) {
	case *ExposeInstruction:
		err = v.ExpandWords(s.x, s)
	default:
		err = in.Expand(s.x.Func(s))
	}
	if err == nil {
		switch v := in.(type) {
		case *EnvInstruction:
			for _, kv := range v.Env {
				s.vars[kv.Key] = kv.Value
			}
		case *AddInstruction:
			err = v.ExpandContents(s.x, s)
		case *CopyInstruction:
			err = v.ExpandContents(s.x, s)
		}
	}
	if err != nil {
		return decodeError(in.Node(), err)
	}
	return nil
}
