package dockerfile

import (
	"io"
	"strings"
	"unicode"
)

// DefaultEscape is the escape character when no "# escape=" directive is
// given.
const DefaultEscape = '\\'

// Result is the syntax tree of a Dockerfile.
type Result struct {
	// Root holds one child per instruction, in file order.
	Root *Node
	// Escape is the active escape character: '\\' or '`'.
	Escape rune
	// Directives are the parser directives found at the top of the file
	// (syntax, escape, check), in order.
	Directives []Directive
	// Warnings found while parsing (empty continuation lines).
	Warnings []Warning
}

// Directive is a parser directive such as "# syntax=docker/dockerfile:1".
type Directive struct {
	Name  string // lower-cased: "syntax", "escape" or "check"
	Value string
	Line  int
}

// Directive returns the value of the named directive and whether it was set.
func (r *Result) Directive(name string) (string, bool) {
	for _, d := range r.Directives {
		if d.Name == name {
			return d.Value, true
		}
	}
	return "", false
}

// Parse reads a Dockerfile and returns its syntax tree. It applies the
// parser directives, joins continuation lines, drops comments, splits each
// instruction's flags and arguments, and collects heredoc bodies. It does not
// check what the instructions mean: unknown instructions and flags are kept;
// see ParseFile and Result.File for that. Errors are *Error.
func Parse(r io.Reader) (*Result, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, &Error{Err: err}
	}
	p := parser{src: string(data), esc: DefaultEscape}
	return p.parse()
}

// ParseString is Parse over a string.
func ParseString(s string) (*Result, error) {
	p := parser{src: s, esc: DefaultEscape}
	return p.parse()
}

type parser struct {
	src        string
	pos        int
	esc        rune
	line       int // lines consumed so far
	directives []Directive
	dirDone    bool
	warnings   []Warning
}

// nextLine returns the next physical line with its line ending.
func (p *parser) nextLine() (string, bool) {
	if p.pos >= len(p.src) {
		return "", false
	}
	rest := p.src[p.pos:]
	i := strings.IndexByte(rest, '\n')
	if i < 0 {
		p.pos = len(p.src)
		return rest, true
	}
	p.pos += i + 1
	return rest[:i+1], true
}

func trimNewline(s string) string {
	i := len(s)
	for i > 0 && (s[i-1] == '\n' || s[i-1] == '\r') {
		i--
	}
	return s[:i]
}

func trimLeftSpace(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return strings.TrimLeftFunc(s[i:], unicode.IsSpace)
		}
		if !asciiSpace(c) {
			return s[i:]
		}
	}
	return ""
}

func asciiSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isComment(s string) bool {
	s = trimLeftSpace(s)
	return len(s) > 0 && s[0] == '#'
}

// directive checks a line (newline removed, left-trimmed) for a parser
// directive. Directives are only recognised until the first line that is not
// one.
func (p *parser) directive(line string) (bool, error) {
	if p.dirDone {
		return false, nil
	}
	name, value, ok := splitDirective(line)
	if !ok {
		p.dirDone = true
		return false, nil
	}
	for _, d := range p.directives {
		if d.Name == name {
			return false, errorf(ErrDirective, "only one %s parser directive can be used", name)
		}
	}
	if name == "escape" {
		if value != "`" && value != `\` {
			return false, errorf(ErrDirective, "invalid escape token '%s' does not match ` or \\", value)
		}
		p.esc = rune(value[0])
	}
	p.directives = append(p.directives, Directive{Name: name, Value: value, Line: p.line + 1})
	return true, nil
}

func isReSpace(c byte) bool { // Go regexp's \s
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

func splitDirective(line string) (name, value string, ok bool) {
	rest, found := strings.CutPrefix(line, "#")
	if !found {
		return "", "", false
	}
	rest = trimLeftSpace(rest)
	i := 0
	for i < len(rest) && (isASCIILetter(rest[i]) || (i > 0 && rest[i] >= '0' && rest[i] <= '9')) {
		i++
	}
	if i == 0 {
		return "", "", false
	}
	name = strings.ToLower(rest[:i])
	if name != "syntax" && name != "escape" && name != "check" {
		return "", "", false
	}
	rest = rest[i:]
	for len(rest) > 0 && isReSpace(rest[0]) {
		rest = rest[1:]
	}
	if len(rest) == 0 || rest[0] != '=' {
		return "", "", false
	}
	rest = rest[1:]
	if rest == "" {
		return "", "", false
	}
	// As the pattern \s*(.+?)\s*$: the value is never empty, so a value of
	// blanks only is its last blank.
	for len(rest) > 1 && isReSpace(rest[0]) {
		rest = rest[1:]
	}
	for len(rest) > 1 && isReSpace(rest[len(rest)-1]) {
		rest = rest[:len(rest)-1]
	}
	return name, rest, true
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// trimContinuation removes a trailing escape character (and the blanks after
// it) that continues the line. An escaped escape character does not continue.
func trimContinuation(line string, esc rune) (string, bool) {
	end := len(line)
	for end > 0 && (line[end-1] == ' ' || line[end-1] == '\t') {
		end--
	}
	if end == 0 || rune(line[end-1]) != esc {
		return line, true
	}
	i := end - 1
	if i == 0 {
		return "", false
	}
	if rune(line[i-1]) == esc {
		return line, true
	}
	return line[:i], false
}

func isBlank(s string) bool { return trimLeftSpace(s) == "" }

func (p *parser) parse() (*Result, error) {
	root := &Node{}
	var comments []string
	var buf strings.Builder
	for {
		raw, ok := p.nextLine()
		if !ok {
			break
		}
		if p.line == 0 {
			raw = strings.TrimPrefix(raw, "\xEF\xBB\xBF")
		}
		line := trimLeftSpace(trimNewline(raw))
		isDir, err := p.directive(line)
		if err != nil {
			return nil, &Error{Line: p.line + 1, EndLine: p.line + 1, Err: err}
		}
		if isComment(line) {
			if !isDir {
				if c := strings.TrimSpace(line[1:]); c == "" {
					comments = nil
				} else {
					comments = append(comments, c)
				}
			}
			line = ""
		}
		p.line++
		start := p.line
		line, done := trimContinuation(line, p.esc)
		if done && line == "" {
			continue
		}
		buf.Reset()
		buf.WriteString(line)
		emptyCont := false
		for !done {
			raw, ok := p.nextLine()
			if !ok {
				break
			}
			p.line++
			l := trimNewline(raw)
			if isComment(l) {
				continue
			}
			if isBlank(l) {
				emptyCont = true
				continue
			}
			l, done = trimContinuation(l, p.esc)
			buf.WriteString(l)
		}
		logical := buf.String()
		if emptyCont {
			p.warnings = append(p.warnings, Warning{Line: p.line, Rule: "NoEmptyContinuation",
				Message: "Empty continuation line found in: " + logical})
		}
		node, err := newNode(logical, p.esc)
		if err != nil {
			return nil, &Error{Line: start, EndLine: p.line, Instruction: instructionName(logical), Err: err}
		}
		node.Comments = comments
		comments = nil
		if node.canHaveHeredoc() && strings.Contains(logical, "<<") {
			docs, err := heredocsFromLine(logical)
			if err != nil {
				return nil, &Error{Line: start, EndLine: p.line, Instruction: node.Name(), Err: err}
			}
			for _, h := range docs {
				if err := p.readHeredoc(&h); err != nil {
					return nil, &Error{Line: start, EndLine: p.line, Instruction: node.Name(), Err: err}
				}
				node.Heredocs = append(node.Heredocs, h)
			}
		}
		node.StartLine, node.EndLine = start, p.line
		root.Children = append(root.Children, node)
	}
	if len(root.Children) == 0 {
		return nil, &Error{Line: p.line, EndLine: p.line, Err: ErrNoInstructions}
	}
	root.StartLine = root.Children[0].StartLine
	root.EndLine = root.Children[len(root.Children)-1].EndLine
	return &Result{Root: root, Escape: p.esc, Directives: p.directives, Warnings: p.warnings}, nil
}

func (p *parser) readHeredoc(h *Heredoc) error {
	var content strings.Builder
	for {
		raw, ok := p.nextLine()
		if !ok {
			return errorf(ErrHeredoc, "unterminated heredoc")
		}
		p.line++
		term := trimNewline(raw)
		if h.Chomp {
			term = strings.TrimLeft(term, "\t")
		}
		if term == h.Name {
			h.Content = content.String()
			return nil
		}
		content.WriteString(raw)
	}
}

// instructionName is the upper-cased first word of a logical line, for
// error messages.
func instructionName(line string) string {
	cmd, _ := splitCommandWord(strings.TrimSpace(line))
	return strings.ToUpper(cmd)
}

func (n *Node) canHaveHeredoc() bool {
	if strings.EqualFold(n.Keyword, "onbuild") && len(n.Children) > 0 {
		n = n.Children[0]
	}
	switch strings.ToLower(n.Keyword) {
	case "add", "copy", "run":
		return !n.JSON
	}
	return false
}
