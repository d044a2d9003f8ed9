package dockerfile

import (
	"fmt"
	"strconv"
	"strings"
)

// Dump renders the decoded file as text, one line per stage and
// instruction, for golden tests and debugging.
func (f *File) Dump() string {
	var b strings.Builder
	for _, a := range f.MetaArgs {
		fmt.Fprintf(&b, "meta %s\n", describe(a))
	}
	for _, s := range f.Stages {
		fmt.Fprintf(&b, "stage %d name=%q base=%q", s.Index, s.Name, s.BaseName)
		if s.Platform != "" {
			fmt.Fprintf(&b, " platform=%q", s.Platform)
		}
		b.WriteByte('\n')
		for _, in := range s.Instructions {
			fmt.Fprintf(&b, "  %s\n", describe(in))
		}
	}
	for _, w := range f.Warnings {
		fmt.Fprintf(&b, "warning %s\n", w)
	}
	return b.String()
}

func q(s string) string { return strconv.Quote(s) }

func qs(s []string) string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = q(v)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func kvs(p []KeyValue) string {
	parts := make([]string, len(p))
	for i, kv := range p {
		parts[i] = q(kv.Key) + "=" + q(kv.Value)
	}
	return strings.Join(parts, " ")
}

func describeCommand(c Command) string {
	s := qs(c.Args)
	if c.Shell {
		s = "shell " + s
	}
	for _, h := range c.Files {
		s += fmt.Sprintf(" file(%q chomp=%t %q)", h.Name, h.Chomp, h.Content)
	}
	return s
}

func describeSD(sd SourcesAndDest) string {
	s := "src=" + qs(sd.Sources)
	for _, c := range sd.Contents {
		s += fmt.Sprintf(" inline(%q expand=%t %q)", c.Path, c.Expand, c.Data)
	}
	return s + " dest=" + q(sd.Dest)
}

func optBool(b *bool) string {
	if b == nil {
		return "unset"
	}
	return strconv.FormatBool(*b)
}

func describe(in Instruction) string {
	var s string
	switch v := in.(type) {
	case *RunInstruction:
		s = describeCommand(v.Command) + " network=" + v.Network + " security=" + v.Security
		if len(v.MountSpecs) > 0 {
			s += " mounts=" + qs(v.MountSpecs)
		}
		for _, d := range v.Devices {
			s += fmt.Sprintf(" device(%q required=%t)", d.Name, d.Required)
		}
	case *CmdInstruction:
		s = describeCommand(v.Command)
	case *EntrypointInstruction:
		s = describeCommand(v.Command)
	case *LabelInstruction:
		s = kvs(v.Labels)
	case *EnvInstruction:
		s = kvs(v.Env)
	case *MaintainerInstruction:
		s = q(v.Maintainer)
	case *ExposeInstruction:
		s = qs(v.Ports)
	case *AddInstruction:
		s = describeSD(v.SourcesAndDest) + fmt.Sprintf(" chown=%q chmod=%q checksum=%q link=%t keep-git-dir=%s unpack=%s exclude=%s",
			v.Chown, v.Chmod, v.Checksum, v.Link, optBool(v.KeepGitDir), optBool(v.Unpack), qs(v.Exclude))
	case *CopyInstruction:
		s = describeSD(v.SourcesAndDest) + fmt.Sprintf(" from=%q chown=%q chmod=%q link=%t parents=%t exclude=%s",
			v.From, v.Chown, v.Chmod, v.Link, v.Parents, qs(v.Exclude))
	case *VolumeInstruction:
		s = qs(v.Volumes)
	case *UserInstruction:
		s = q(v.User)
	case *WorkdirInstruction:
		s = q(v.Path)
	case *ArgInstruction:
		parts := make([]string, len(v.Args))
		for i, a := range v.Args {
			parts[i] = q(a.Key)
			if a.Value != nil {
				parts[i] += "=" + q(*a.Value)
			}
		}
		s = strings.Join(parts, " ")
	case *OnbuildInstruction:
		s = q(v.Expression)
	case *StopSignalInstruction:
		s = q(v.Signal)
	case *HealthcheckInstruction:
		s = fmt.Sprintf("%s interval=%s timeout=%s start-period=%s start-interval=%s retries=%d",
			qs(v.Test), v.Interval, v.Timeout, v.StartPeriod, v.StartInterval, v.Retries)
	case *ShellInstruction:
		s = qs(v.Shell)
	}
	return in.Keyword() + " " + s
}
