package conformance

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	bkparser "github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/skiffrt/skiff/dockerfile"
)

// Skip reports inputs outside the comparison (see the package doc).
func Skip(src []byte) string {
	for _, l := range bytes.Split(src, []byte("\n")) {
		if len(l) >= 64*1024-1 {
			return "line longer than BuildKit's scanner allows"
		}
	}
	return ""
}

// bkLine returns the first line BuildKit attaches to an error, or -1.
func bkLine(err error) int {
	var le *bkparser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		return le.Locations[0][0].Start.Line
	}
	return -1
}

func isDirectiveError(err error) bool {
	return errors.Is(err, dockerfile.ErrDirective)
}

// Compare parses src with both parsers and decoders and describes the first
// difference, or returns "".
func Compare(src []byte) string {
	if why := Skip(src); why != "" {
		return ""
	}
	valid := utf8.Valid(src)
	bres, berr := bkparser.Parse(bytes.NewReader(src))
	sres, serr := dockerfile.Parse(bytes.NewReader(src))
	if (berr == nil) != (serr == nil) {
		return fmt.Sprintf("parse acceptance differs: buildkit %v, skiff %v", berr, serr)
	}
	if berr != nil {
		var se *dockerfile.Error
		errors.As(serr, &se)
		want := bkLine(berr)
		if isDirectiveError(serr) {
			want++
		}
		if se == nil || se.Line != want {
			return fmt.Sprintf("parse error line differs: buildkit %d (%v), skiff %v", bkLine(berr), berr, serr)
		}
		return ""
	}
	if valid {
		if d := compareTrees(bres, sres); d != "" {
			return d
		}
	}
	stages, meta, berr := instructions.Parse(bres.AST, linter.New(&linter.Config{}))
	file, serr := sres.File()
	if (berr == nil) != (serr == nil) {
		return fmt.Sprintf("decode acceptance differs: buildkit %v, skiff %v", berr, serr)
	}
	if berr != nil {
		var se *dockerfile.Error
		errors.As(serr, &se)
		if se == nil || se.Line != bkLine(berr) {
			return fmt.Sprintf("decode error line differs: buildkit %d (%v), skiff %v", bkLine(berr), berr, serr)
		}
		return ""
	}
	if len(meta) != len(file.MetaArgs) || len(stages) != len(file.Stages) {
		return fmt.Sprintf("stage/meta count differs: buildkit %d/%d, skiff %d/%d", len(stages), len(meta), len(file.Stages), len(file.MetaArgs))
	}
	for i, bs := range stages {
		ss := file.Stages[i]
		if !valid || !asciiFlags(sres.Root) {
			continue
		}
		if bs.Name != ss.Name || bs.BaseName != ss.BaseName || bs.Platform != ss.Platform || len(bs.Commands) != len(ss.Instructions) {
			return fmt.Sprintf("stage %d differs: buildkit %q %q %q %d, skiff %q %q %q %d", i, bs.Name, bs.BaseName, bs.Platform, len(bs.Commands),
				ss.Name, ss.BaseName, ss.Platform, len(ss.Instructions))
		}
		for j, bc := range bs.Commands {
			if d := compareInstruction(bc, ss.Instructions[j]); d != "" {
				return fmt.Sprintf("stage %d instruction %d (%s): %s", i, j, bc.Name(), d)
			}
		}
	}
	return ""
}

// flatArgs renders a Skiff node's arguments the way BuildKit's node chain
// holds them.
func flatArgs(n *dockerfile.Node) []string {
	var out []string
	if !knownKeyword(n.Keyword) {
		return []string{""} // BuildKit keeps an empty placeholder argument
	}
	switch strings.ToLower(n.Keyword) {
	case "env", "label":
		for _, p := range n.Pairs {
			sep := "="
			if p.Legacy {
				sep = ""
			}
			out = append(out, p.Key, p.Value, sep)
		}
		return out
	case "onbuild":
		for _, c := range n.Children {
			out = append(out, c.Keyword)
			out = append(out, flatArgs(c)...)
		}
		return out
	}
	return append(out, n.Args...)
}

func bkArgs(n *bkparser.Node) []string {
	var out []string
	for a := n.Next; a != nil; a = a.Next {
		if len(a.Children) == 1 {
			out = append(out, a.Children[0].Value)
			out = append(out, bkArgs(a.Children[0])...)
			continue
		}
		out = append(out, a.Value)
	}
	return out
}

func knownKeyword(k string) bool {
	switch strings.ToLower(k) {
	case "add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from", "healthcheck", "label",
		"maintainer", "onbuild", "run", "shell", "stopsignal", "user", "volume", "workdir":
		return true
	}
	return false
}

func compareNode(b *bkparser.Node, s *dockerfile.Node) string {
	if b.Value != s.Keyword {
		return fmt.Sprintf("keyword %q vs %q", b.Value, s.Keyword)
	}
	if b.Original != s.Original {
		return fmt.Sprintf("original %q vs %q", b.Original, s.Original)
	}
	if !reflect.DeepEqual(emptyNil(b.Flags), emptyNil(latin1All(s.Flags))) {
		return fmt.Sprintf("flags %q vs %q", b.Flags, s.Flags)
	}
	ba, sa := bkArgs(b), flatArgs(s)
	if !reflect.DeepEqual(emptyNil(ba), emptyNil(sa)) {
		return fmt.Sprintf("args %q vs %q", ba, sa)
	}
	bj := b.Attributes["json"]
	if strings.EqualFold(b.Value, "onbuild") && b.Next != nil && len(b.Next.Children) == 1 {
		bj = b.Next.Children[0].Attributes["json"]
		if len(s.Children) == 1 && bj != s.Children[0].JSON {
			return fmt.Sprintf("onbuild json %v vs %v", bj, s.Children[0].JSON)
		}
		return compareHeredocs(b.Heredocs, s.Heredocs)
	}
	if bj != s.JSON {
		return fmt.Sprintf("json %v vs %v", bj, s.JSON)
	}
	return compareHeredocs(b.Heredocs, s.Heredocs)
}

func compareHeredocs(b []bkparser.Heredoc, s []dockerfile.Heredoc) string {
	if len(b) != len(s) {
		return fmt.Sprintf("%d heredocs vs %d", len(b), len(s))
	}
	for i := range b {
		x, y := b[i], s[i]
		if x.Name != y.Name || x.Expand != y.Expand || x.Chomp != y.Chomp || x.FileDescriptor != y.FileDescriptor || x.Content != y.Content {
			return fmt.Sprintf("heredoc %d: %+v vs %+v", i, x, y)
		}
	}
	return ""
}

func emptyNil(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func compareTrees(b *bkparser.Result, s *dockerfile.Result) string {
	if b.EscapeToken != s.Escape {
		return fmt.Sprintf("escape %q vs %q", b.EscapeToken, s.Escape)
	}
	if len(b.AST.Children) != len(s.Root.Children) {
		return fmt.Sprintf("%d instructions vs %d", len(b.AST.Children), len(s.Root.Children))
	}
	for i, bn := range b.AST.Children {
		sn := s.Root.Children[i]
		if bn.StartLine != sn.StartLine || bn.EndLine != sn.EndLine {
			return fmt.Sprintf("instruction %d (%s) lines %d-%d vs %d-%d", i, bn.Value, bn.StartLine, bn.EndLine, sn.StartLine, sn.EndLine)
		}
		if d := compareNode(bn, sn); d != "" {
			return fmt.Sprintf("instruction %d (line %d): %s", i, bn.StartLine, d)
		}
	}
	if len(b.Warnings) != len(s.Warnings) {
		return fmt.Sprintf("%d warnings vs %d", len(b.Warnings), len(s.Warnings))
	}
	return ""
}

func compareInstruction(b instructions.Command, s dockerfile.Instruction) string {
	if !strings.EqualFold(b.Name(), s.Keyword()) {
		return fmt.Sprintf("type %s vs %s", b.Name(), s.Keyword())
	}
	type pair struct{ b, s any }
	var ps []pair
	switch bc := b.(type) {
	case *instructions.RunCommand:
		sc := s.(*dockerfile.RunInstruction)
		ps = append(ps, pair{bc.CmdLine, sc.Args}, pair{bc.PrependShell, sc.Shell}, pair{len(bc.Files), len(sc.Files)},
			pair{instructions.GetNetwork(bc), sc.Network}, pair{instructions.GetSecurity(bc), sc.Security},
			pair{len(instructions.GetMounts(bc)), len(sc.MountSpecs)}, pair{len(instructions.GetDevices(bc)), len(sc.Devices)})
	case *instructions.CmdCommand:
		sc := s.(*dockerfile.CmdInstruction)
		ps = append(ps, pair{bc.CmdLine, sc.Args}, pair{bc.PrependShell, sc.Shell})
	case *instructions.EntrypointCommand:
		sc := s.(*dockerfile.EntrypointInstruction)
		ps = append(ps, pair{emptyNil(bc.CmdLine), emptyNil(sc.Args)}, pair{bc.PrependShell, sc.Shell})
	case *instructions.EnvCommand:
		sc := s.(*dockerfile.EnvInstruction)
		ps = append(ps, pair{kvB(bc.Env), kvS(sc.Env)})
	case *instructions.LabelCommand:
		sc := s.(*dockerfile.LabelInstruction)
		ps = append(ps, pair{kvB(bc.Labels), kvS(sc.Labels)})
	case *instructions.AddCommand:
		sc := s.(*dockerfile.AddInstruction)
		ps = append(ps, pair{emptyNil(bc.SourcePaths), emptyNil(sc.Sources)}, pair{bc.DestPath, sc.Dest}, pair{bc.Chown, sc.Chown},
			pair{bc.Chmod, sc.Chmod}, pair{bc.Checksum, sc.Checksum}, pair{bc.Link, sc.Link}, pair{emptyNil(bc.ExcludePatterns), emptyNil(sc.Exclude)},
			pair{bc.KeepGitDir, sc.KeepGitDir}, pair{bc.Unpack, sc.Unpack}, pair{contentsB(bc.SourceContents), contentsS(sc.Contents)})
	case *instructions.CopyCommand:
		sc := s.(*dockerfile.CopyInstruction)
		ps = append(ps, pair{emptyNil(bc.SourcePaths), emptyNil(sc.Sources)}, pair{bc.DestPath, sc.Dest}, pair{bc.Chown, sc.Chown},
			pair{bc.Chmod, sc.Chmod}, pair{bc.From, sc.From}, pair{bc.Link, sc.Link}, pair{bc.Parents, sc.Parents},
			pair{emptyNil(bc.ExcludePatterns), emptyNil(sc.Exclude)}, pair{contentsB(bc.SourceContents), contentsS(sc.Contents)})
	case *instructions.ExposeCommand:
		ps = append(ps, pair{bc.Ports, s.(*dockerfile.ExposeInstruction).Ports})
	case *instructions.VolumeCommand:
		ps = append(ps, pair{bc.Volumes, s.(*dockerfile.VolumeInstruction).Volumes})
	case *instructions.UserCommand:
		ps = append(ps, pair{bc.User, s.(*dockerfile.UserInstruction).User})
	case *instructions.WorkdirCommand:
		ps = append(ps, pair{bc.Path, s.(*dockerfile.WorkdirInstruction).Path})
	case *instructions.StopSignalCommand:
		ps = append(ps, pair{bc.Signal, s.(*dockerfile.StopSignalInstruction).Signal})
	case *instructions.MaintainerCommand:
		ps = append(ps, pair{bc.Maintainer, s.(*dockerfile.MaintainerInstruction).Maintainer})
	case *instructions.OnbuildCommand:
		ps = append(ps, pair{bc.Expression, s.(*dockerfile.OnbuildInstruction).Expression})
	case *instructions.ShellCommand:
		ps = append(ps, pair{bc.Shell, s.(*dockerfile.ShellInstruction).Shell})
	case *instructions.ArgCommand:
		sc := s.(*dockerfile.ArgInstruction)
		var bs, ss []string
		for _, a := range bc.Args {
			v := a.Key
			if a.Value != nil {
				v += "=" + *a.Value
			}
			bs = append(bs, v)
		}
		for _, a := range sc.Args {
			v := a.Key
			if a.Value != nil {
				v += "=" + *a.Value
			}
			ss = append(ss, v)
		}
		ps = append(ps, pair{bs, ss})
	case *instructions.HealthCheckCommand:
		sc := s.(*dockerfile.HealthcheckInstruction)
		h := bc.Health
		ps = append(ps, pair{h.Test, sc.Test}, pair{h.Interval, sc.Interval}, pair{h.Timeout, sc.Timeout},
			pair{h.StartPeriod, sc.StartPeriod}, pair{h.StartInterval, sc.StartInterval}, pair{h.Retries, sc.Retries})
	}
	for _, p := range ps {
		if !reflect.DeepEqual(p.b, p.s) {
			return fmt.Sprintf("%#v vs %#v", p.b, p.s)
		}
	}
	return ""
}

func kvB(k instructions.KeyValuePairs) []string {
	var out []string
	for _, kv := range k {
		out = append(out, kv.Key+"\x00"+kv.Value)
	}
	return out
}

func kvS(k []dockerfile.KeyValue) []string {
	var out []string
	for _, kv := range k {
		out = append(out, kv.Key+"\x00"+kv.Value)
	}
	return out
}

func contentsB(c []instructions.SourceContent) []string {
	var out []string
	for _, x := range c {
		out = append(out, fmt.Sprintf("%s|%t|%s", x.Path, x.Expand, x.Data))
	}
	return out
}

func contentsS(c []dockerfile.SourceContent) []string {
	var out []string
	for _, x := range c {
		out = append(out, fmt.Sprintf("%s|%t|%s", x.Path, x.Expand, x.Data))
	}
	return out
}

// latin1All re-encodes each byte of non-ASCII flags as BuildKit does.
func latin1All(flags []string) []string {
	out := make([]string, len(flags))
	for i, f := range flags {
		var b strings.Builder
		for j := 0; j < len(f); j++ {
			b.WriteRune(rune(f[j]))
		}
		out[i] = b.String()
	}
	return out
}

func asciiFlags(n *dockerfile.Node) bool {
	for _, f := range n.Flags {
		for i := 0; i < len(f); i++ {
			if f[i] >= 0x80 {
				return false
			}
		}
	}
	for _, c := range n.Children {
		if !asciiFlags(c) {
			return false
		}
	}
	return true
}
