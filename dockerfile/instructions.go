package dockerfile

import (
	"strings"
	"time"
)

// Instruction is one typed Dockerfile instruction inside a stage. The
// concrete types are *RunInstruction, *CmdInstruction, *LabelInstruction,
// *MaintainerInstruction, *ExposeInstruction, *EnvInstruction,
// *AddInstruction, *CopyInstruction, *EntrypointInstruction,
// *VolumeInstruction, *UserInstruction, *WorkdirInstruction,
// *ArgInstruction, *OnbuildInstruction, *StopSignalInstruction,
// *HealthcheckInstruction and *ShellInstruction. FROM starts a Stage.
type Instruction interface {
	// Keyword is the upper-case instruction name, e.g. "COPY".
	Keyword() string
	// Node is the syntax node the instruction was decoded from.
	Node() *Node
}

// WordFunc expands one word; see Expander.Func.
type WordFunc func(word string) (string, error)

// Expandable is implemented by the instructions whose arguments BuildKit
// expands before running them: ENV, LABEL, ADD, COPY, WORKDIR, USER,
// VOLUME, STOPSIGNAL, EXPOSE and RUN (its --mount options). ARG values are
// expanded by ArgScope; FROM by Stage.Expand; RUN, CMD, ENTRYPOINT, SHELL,
// HEALTHCHECK and ONBUILD are left to the shell or to a later build.
type Expandable interface {
	Instruction
	// Expand replaces the instruction's words with their expansion, in
	// place.
	Expand(expand WordFunc) error
}

// Func returns a WordFunc expanding words against env.
func (x Expander) Func(env Env) WordFunc {
	return func(w string) (string, error) { return x.Word(w, env) }
}

type instr struct{ node *Node }

// Node returns the syntax node of the instruction.
func (i instr) Node() *Node { return i.node }

// Line returns the line the instruction starts on.
func (i instr) Line() int { return i.node.StartLine }

// Command is the command line of RUN, CMD and ENTRYPOINT.
type Command struct {
	// Args is the exec-form array, or a single string holding the shell
	// form.
	Args []string
	// Shell is true for the shell form: run Args[0] with the stage's SHELL.
	Shell bool
	// Files are the heredocs of a RUN.
	Files []Heredoc
}

func commandFrom(n *Node) Command {
	c := Command{Shell: !n.JSON, Files: n.Heredocs}
	if len(n.Args) == 0 {
		c.Args = []string{}
		return c
	}
	if n.JSON {
		c.Args = n.Args
	} else {
		c.Args = []string{strings.Join(n.Args, " ")}
	}
	return c
}

// KeyValue is a pair of ENV or LABEL.
type KeyValue struct {
	Key, Value string
	// Legacy is true for the "ENV key value" form.
	Legacy bool
}

func expandPairs(kvs []KeyValue, expand WordFunc) error {
	for i := range kvs {
		k, err := expand(kvs[i].Key)
		if err != nil {
			return err
		}
		v, err := expand(kvs[i].Value)
		if err != nil {
			return err
		}
		kvs[i].Key, kvs[i].Value = k, v
	}
	return nil
}

func expandAll(s []string, expand WordFunc) error {
	for i, w := range s {
		v, err := expand(w)
		if err != nil {
			return err
		}
		s[i] = v
	}
	return nil
}

// RunInstruction is RUN [--mount=...] [--network=...] [--security=...]
// [--device=...] command.
type RunInstruction struct {
	instr
	Command
	// MountSpecs are the raw --mount values; Mounts is filled from them by
	// Expand.
	MountSpecs []string
	Mounts     []Mount
	// Network is "default", "none" or "host".
	Network string
	// Security is "sandbox" or "insecure".
	Security string
	Devices  []Device
}

// Keyword implements Instruction.
func (*RunInstruction) Keyword() string { return "RUN" }

// Expand expands and parses the --mount options.
func (r *RunInstruction) Expand(expand WordFunc) error {
	r.Mounts = r.Mounts[:0]
	for _, s := range r.MountSpecs {
		m, err := parseMount(s, expand)
		if err != nil {
			return err
		}
		r.Mounts = append(r.Mounts, *m)
	}
	return nil
}

// CmdInstruction is CMD.
type CmdInstruction struct {
	instr
	Command
}

// Keyword implements Instruction.
func (*CmdInstruction) Keyword() string { return "CMD" }

// EntrypointInstruction is ENTRYPOINT. An empty exec form ("[]") leaves
// Args nil.
type EntrypointInstruction struct {
	instr
	Command
}

// Keyword implements Instruction.
func (*EntrypointInstruction) Keyword() string { return "ENTRYPOINT" }

// LabelInstruction is LABEL k=v ....
type LabelInstruction struct {
	instr
	Labels []KeyValue
}

// Keyword implements Instruction.
func (*LabelInstruction) Keyword() string { return "LABEL" }

// Expand implements Expandable.
func (l *LabelInstruction) Expand(expand WordFunc) error { return expandPairs(l.Labels, expand) }

// MaintainerInstruction is the deprecated MAINTAINER.
type MaintainerInstruction struct {
	instr
	Maintainer string
}

// Keyword implements Instruction.
func (*MaintainerInstruction) Keyword() string { return "MAINTAINER" }

// ExposeInstruction is EXPOSE port[/proto] .... Ports are as written
// (sorted, as BuildKit does) until Expand, which expands and splits them;
// ParsePorts turns them into "80/tcp" forms.
type ExposeInstruction struct {
	instr
	Ports []string
}

// Keyword implements Instruction.
func (*ExposeInstruction) Keyword() string { return "EXPOSE" }

// Expand expands every port.
func (e *ExposeInstruction) Expand(expand WordFunc) error { return expandAll(e.Ports, expand) }

// ExpandWords expands every port and splits the results at whitespace, as
// BuildKit does for EXPOSE ("EXPOSE $PORTS").
func (e *ExposeInstruction) ExpandWords(x Expander, env Env) error {
	var out []string
	for _, p := range e.Ports {
		ws, err := x.Words(p, env)
		if err != nil {
			return err
		}
		out = append(out, ws...)
	}
	e.Ports = out
	return nil
}

// EnvInstruction is ENV k=v ... or ENV k v.
type EnvInstruction struct {
	instr
	Env []KeyValue
}

// Keyword implements Instruction.
func (*EnvInstruction) Keyword() string { return "ENV" }

// Expand implements Expandable.
func (e *EnvInstruction) Expand(expand WordFunc) error { return expandPairs(e.Env, expand) }

// SourceContent is an inline source of ADD or COPY given as a heredoc.
type SourceContent struct {
	Path   string // the heredoc name, used as the file name
	Data   string // the body, tabs already chomped for <<-
	Expand bool   // the body's variables are expanded (unquoted delimiter)
}

// SourcesAndDest are the paths of ADD and COPY.
type SourcesAndDest struct {
	Sources  []string
	Contents []SourceContent
	Dest     string
}

func (s *SourcesAndDest) expand(expand WordFunc) error {
	if err := expandAll(s.Sources, expand); err != nil {
		return err
	}
	d, err := expand(s.Dest)
	if err != nil {
		return err
	}
	s.Dest = d
	return nil
}

// ExpandContents expands the heredoc bodies whose delimiter was unquoted.
func (s *SourcesAndDest) ExpandContents(x Expander, env Env) error {
	for i, c := range s.Contents {
		if !c.Expand {
			continue
		}
		d, err := x.Heredoc(c.Data, env)
		if err != nil {
			return err
		}
		s.Contents[i].Data = d
	}
	return nil
}

// AddInstruction is ADD [--chown] [--chmod] [--link] [--keep-git-dir]
// [--checksum] [--unpack] [--exclude]... src... dest.
type AddInstruction struct {
	instr
	SourcesAndDest
	Chown, Chmod, Checksum string
	Link                   bool
	KeepGitDir             *bool // nil when not given
	Unpack                 *bool // nil when not given
	Exclude                []string
}

// Keyword implements Instruction.
func (*AddInstruction) Keyword() string { return "ADD" }

// Expand expands --chown, --chmod, --checksum, the sources and the
// destination.
func (a *AddInstruction) Expand(expand WordFunc) error {
	for _, p := range []*string{&a.Chown, &a.Chmod, &a.Checksum} {
		v, err := expand(*p)
		if err != nil {
			return err
		}
		*p = v
	}
	return a.expand(expand)
}

// CopyInstruction is COPY [--from] [--chown] [--chmod] [--link]
// [--parents] [--exclude]... src... dest.
type CopyInstruction struct {
	instr
	SourcesAndDest
	From, Chown, Chmod string
	Link, Parents      bool
	Exclude            []string
}

// Keyword implements Instruction.
func (*CopyInstruction) Keyword() string { return "COPY" }

// Expand expands --chown, --chmod, the sources and the destination (not
// --from, which names a stage or image).
func (c *CopyInstruction) Expand(expand WordFunc) error {
	for _, p := range []*string{&c.Chown, &c.Chmod} {
		v, err := expand(*p)
		if err != nil {
			return err
		}
		*p = v
	}
	return c.expand(expand)
}

// VolumeInstruction is VOLUME.
type VolumeInstruction struct {
	instr
	Volumes []string
}

// Keyword implements Instruction.
func (*VolumeInstruction) Keyword() string { return "VOLUME" }

// Expand implements Expandable.
func (v *VolumeInstruction) Expand(expand WordFunc) error { return expandAll(v.Volumes, expand) }

// UserInstruction is USER user[:group].
type UserInstruction struct {
	instr
	User string
}

// Keyword implements Instruction.
func (*UserInstruction) Keyword() string { return "USER" }

// Expand implements Expandable.
func (u *UserInstruction) Expand(expand WordFunc) (err error) {
	u.User, err = expand(u.User)
	return err
}

// WorkdirInstruction is WORKDIR path.
type WorkdirInstruction struct {
	instr
	Path string
}

// Keyword implements Instruction.
func (*WorkdirInstruction) Keyword() string { return "WORKDIR" }

// Expand implements Expandable.
func (w *WorkdirInstruction) Expand(expand WordFunc) (err error) {
	w.Path, err = expand(w.Path)
	return err
}

// ArgDef is one name of an ARG, with its default if one was given.
type ArgDef struct {
	Key   string
	Value *string // nil without "="
}

// ArgInstruction is ARG name[=default] ....
type ArgInstruction struct {
	instr
	Args []ArgDef
}

// Keyword implements Instruction.
func (*ArgInstruction) Keyword() string { return "ARG" }

// OnbuildInstruction is ONBUILD trigger. The trigger is kept as text, as it
// runs in a later build; Trigger decodes it.
type OnbuildInstruction struct {
	instr
	// Expression is the trigger instruction's text (with its heredoc
	// bodies).
	Expression string
}

// Keyword implements Instruction.
func (*OnbuildInstruction) Keyword() string { return "ONBUILD" }

// Trigger decodes the trigger instruction.
func (o *OnbuildInstruction) Trigger() (Instruction, error) {
	n := o.node.Children[0]
	return decodeInstruction(n)
}

// StopSignalInstruction is STOPSIGNAL signal.
type StopSignalInstruction struct {
	instr
	Signal string
}

// Keyword implements Instruction.
func (*StopSignalInstruction) Keyword() string { return "STOPSIGNAL" }

// Expand implements Expandable.
func (s *StopSignalInstruction) Expand(expand WordFunc) (err error) {
	s.Signal, err = expand(s.Signal)
	return err
}

// HealthcheckInstruction is HEALTHCHECK NONE or HEALTHCHECK [flags] CMD
// command.
type HealthcheckInstruction struct {
	instr
	// Test is ["NONE"], ["CMD", args...] (exec form) or ["CMD-SHELL",
	// command].
	Test          []string
	Interval      time.Duration
	Timeout       time.Duration
	StartPeriod   time.Duration
	StartInterval time.Duration
	Retries       int
}

// Keyword implements Instruction.
func (*HealthcheckInstruction) Keyword() string { return "HEALTHCHECK" }

// ShellInstruction is SHELL ["executable", "params"...].
type ShellInstruction struct {
	instr
	Shell []string
}

// Keyword implements Instruction.
func (*ShellInstruction) Keyword() string { return "SHELL" }
