package dockerfile

import (
	"fmt"
	"strconv"
	"strings"
)

// Node is one instruction of the syntax tree, or the root. The syntax layer
// knows how each instruction splits its arguments but not what they mean;
// see the typed instructions for that.
type Node struct {
	// Keyword is the instruction as written ("RUN", "run", "Copy"). It is ""
	// for the root, and for a line that is nothing but a continuation.
	Keyword string
	// Args are the arguments after the flags, split by the instruction's
	// rules: one string for the shell form of RUN/CMD/ENTRYPOINT/SHELL, the
	// array for the JSON form, whitespace-separated words for FROM, EXPOSE,
	// and the shell form of ADD/COPY/VOLUME, quote-aware words for ARG,
	// the type then the command for HEALTHCHECK. ENV and LABEL use Pairs.
	Args []string
	// Pairs are the key/value pairs of ENV and LABEL, still unexpanded.
	Pairs []Pair
	// Flags are the --flags before the arguments, quotes removed, e.g.
	// "--from=build".
	Flags []string
	// JSON is true when the arguments were written as a JSON array (exec
	// form).
	JSON bool
	// Heredocs are the here-documents started on this instruction's line,
	// in order.
	Heredocs []Heredoc
	// Original is the instruction's logical line: continuation lines joined,
	// comments and continuation characters removed, heredoc bodies excluded.
	Original string
	// StartLine and EndLine are the 1-based lines the instruction spans,
	// heredoc bodies included.
	StartLine, EndLine int
	// Comments are the comment lines directly above the instruction,
	// without '#'.
	Comments []string
	// Children are the instructions of the root, or the single trigger
	// instruction of an ONBUILD.
	Children []*Node
}

// Pair is one key/value of ENV or LABEL as written (quotes kept).
type Pair struct {
	Key, Value string
	// Legacy is true for the old single-pair form "ENV key value".
	Legacy bool
}

// Heredoc is a here-document: the lines after the instruction up to the
// line holding only the delimiter.
type Heredoc struct {
	// Name is the delimiter, quotes removed.
	Name string
	// FileDescriptor is the number before "<<" (0 when none was written).
	FileDescriptor uint
	// Expand is false when the delimiter was quoted: the body is then taken
	// literally instead of having variables expanded.
	Expand bool
	// Chomp is true for "<<-": leading tabs are stripped from body lines.
	Chomp bool
	// Content is the body, each line with its line ending, without the
	// delimiter line. Leading tabs are not yet removed; see Body.
	Content string
}

// Body returns the content with leading tabs removed from every line when
// Chomp is set.
func (h Heredoc) Body() string {
	if !h.Chomp {
		return h.Content
	}
	return chompTabs(h.Content)
}

func chompTabs(s string) string {
	var b strings.Builder
	bol := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if bol && c == '\t' {
			continue
		}
		bol = c == '\n'
		b.WriteByte(c)
	}
	return b.String()
}

// Name returns the upper-cased keyword, e.g. "RUN".
func (n *Node) Name() string { return strings.ToUpper(n.Keyword) }

// Dump renders the node (and its children) in the text format used by the
// golden tests: one line per instruction,
//
//	3-5 run ["--mount=type=cache,target=/root/.cache"] json "go" "build"
//
// followed by one indented line per heredoc.
func (n *Node) Dump() string {
	var b strings.Builder
	if n.Keyword == "" && len(n.Children) > 0 { // the root
		for _, c := range n.Children {
			c.dump(&b, "")
		}
		return b.String()
	}
	n.dump(&b, "")
	return b.String()
}

func (n *Node) dump(b *strings.Builder, indent string) {
	b.WriteString(indent)
	if n.StartLine == n.EndLine {
		fmt.Fprintf(b, "%d ", n.StartLine)
	} else {
		fmt.Fprintf(b, "%d-%d ", n.StartLine, n.EndLine)
	}
	n.dumpInline(b)
	b.WriteByte('\n')
	for _, h := range n.Heredocs {
		fmt.Fprintf(b, "%s  heredoc %q fd=%d expand=%t chomp=%t %q\n", indent, h.Name, h.FileDescriptor, h.Expand, h.Chomp, h.Content)
	}
}

func (n *Node) dumpInline(b *strings.Builder) {
	b.WriteString(strings.ToLower(n.Keyword))
	if len(n.Flags) > 0 {
		b.WriteString(" [")
		for i, f := range n.Flags {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.Quote(f))
		}
		b.WriteByte(']')
	}
	if n.JSON {
		b.WriteString(" json")
	}
	for _, a := range n.Args {
		b.WriteByte(' ')
		b.WriteString(strconv.Quote(a))
	}
	for _, p := range n.Pairs {
		b.WriteByte(' ')
		b.WriteString(strconv.Quote(p.Key))
		if p.Legacy {
			b.WriteByte(' ')
		} else {
			b.WriteByte('=')
		}
		b.WriteString(strconv.Quote(p.Value))
	}
	for _, c := range n.Children {
		b.WriteString(" (")
		c.dumpInline(b)
		b.WriteByte(')')
	}
}
