package dockerfile

import (
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// isSep reports the characters that separate an instruction from its
// arguments and whitespace-delimited arguments from each other.
func isSep(c byte) bool { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r' }

// splitCommandWord splits a trimmed line at the first run of separators.
func splitCommandWord(s string) (cmd, rest string) {
	for i := 0; i < len(s); i++ {
		if isSep(s[i]) {
			j := i + 1
			for j < len(s) && isSep(s[j]) {
				j++
			}
			return s[:i], s[j:]
		}
	}
	return s, ""
}

// splitSeps splits s (already trimmed) at runs of separators.
func splitSeps(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	for s != "" {
		w, rest := splitCommandWord(s)
		out = append(out, w)
		s = rest
	}
	return out
}

// newNode splits a logical line into keyword, flags and arguments.
func newNode(line string, esc rune) (*Node, error) {
	cmd, rest := splitCommandWord(strings.TrimSpace(line))
	var flags []string
	if rest != "" {
		rest, flags = extractFlags(rest, esc)
	}
	rest = strings.TrimSpace(rest)
	n := &Node{Keyword: cmd, Original: line, Flags: flags}
	var err error
	switch strings.ToLower(cmd) {
	case "add", "copy", "volume":
		err = n.maybeJSONList(rest)
	case "cmd", "entrypoint", "run", "shell":
		err = n.maybeJSON(rest)
	case "arg":
		n.Args = splitWords(rest, esc)
	case "env", "label":
		err = n.nameValues(rest, strings.ToUpper(cmd), esc)
	case "expose", "from":
		n.Args = splitSeps(rest)
	case "healthcheck":
		err = n.healthcheck(rest)
	case "maintainer", "stopsignal", "user", "workdir":
		if rest != "" {
			n.Args = []string{rest}
		}
	case "onbuild":
		if rest != "" {
			child, err := newNode(rest, esc)
			if err != nil {
				return nil, err
			}
			n.Children = []*Node{child}
		}
	}
	if err != nil {
		return nil, err
	}
	return n, nil
}

var (
	errNotJSONArray   = errors.New("not a JSON array")
	errNotStringArray = errorf(ErrArguments, "when using JSON array syntax, arrays must be comprised of strings only")
)

func parseJSONArray(rest string) ([]string, error) {
	rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
	if !strings.HasPrefix(rest, "[") {
		return nil, errNotJSONArray
	}
	var raw []json.RawMessage
	if err := json.Unmarshal([]byte(rest), &raw); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(raw))
	for _, r := range raw {
		if len(r) == 0 || r[0] != '"' {
			return nil, errNotStringArray
		}
		var s string
		if err := json.Unmarshal(r, &s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// maybeJSON: the JSON exec form, or the whole rest as one shell-form string.
// Text that is not a valid JSON array falls back to the shell form; a valid
// array with a non-string element is an error.
func (n *Node) maybeJSON(rest string) error {
	if rest == "" {
		return nil
	}
	args, err := parseJSONArray(rest)
	if err == nil {
		n.Args, n.JSON = args, true
		return nil
	}
	if err == errNotStringArray {
		return err
	}
	n.Args = []string{rest}
	return nil
}

// maybeJSONList: the JSON form, or whitespace-separated words.
func (n *Node) maybeJSONList(rest string) error {
	args, err := parseJSONArray(rest)
	if err == nil {
		n.Args, n.JSON = args, true
		return nil
	}
	if err == errNotStringArray {
		return err
	}
	n.Args = splitSeps(rest)
	return nil
}

// healthcheck: the type word (CMD or NONE), then a CMD-like rest.
func (n *Node) healthcheck(rest string) error {
	sep := 0
	for sep < len(rest) && !unicode.IsSpace(rune(rest[sep])) {
		sep++
	}
	next := sep
	for next < len(rest) && unicode.IsSpace(rune(rest[next])) {
		next++
	}
	if sep == 0 {
		return nil
	}
	typ := rest[:sep]
	c := &Node{}
	if err := c.maybeJSON(rest[next:]); err != nil {
		return err
	}
	n.Args = append([]string{typ}, c.Args...)
	n.JSON = c.JSON
	return nil
}

// nameValues parses ENV and LABEL: "k=v k2=v2" or the legacy "k v".
func (n *Node) nameValues(rest, name string, esc rune) error {
	words := splitWords(rest, esc)
	if len(words) == 0 {
		return nil
	}
	if !strings.Contains(words[0], "=") {
		k, v := splitCommandWord(rest)
		if v == "" && len(k) == len(rest) {
			return errorf(ErrArguments, "must have two arguments")
		}
		n.Pairs = []Pair{{Key: k, Value: v, Legacy: true}}
		return nil
	}
	n.Pairs = make([]Pair, 0, len(words))
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			return errorf(ErrArguments, "Syntax error - can't find = in %s. Must be of the form: name=value", strconv.Quote(w))
		}
		n.Pairs = append(n.Pairs, Pair{Key: k, Value: v})
	}
	return nil
}

// splitWords splits at unquoted whitespace, keeping quotes and escapes in
// the words (they are removed later, by expansion).
func splitWords(rest string, esc rune) []string {
	const (
		inSpaces = iota
		inWord
		inQuote
	)
	var (
		words   []string
		b       strings.Builder
		phase   = inSpaces
		quote   rune
		blankOK bool
		ch      rune
		w       int
	)
	for pos := 0; pos <= len(rest); pos += w {
		if pos != len(rest) {
			ch, w = utf8.DecodeRuneInString(rest[pos:])
		}
		if phase == inSpaces {
			if pos == len(rest) {
				break
			}
			if unicode.IsSpace(ch) {
				continue
			}
			phase = inWord
		}
		if pos == len(rest) {
			if blankOK || b.Len() > 0 {
				words = append(words, b.String())
			}
			break
		}
		if phase == inWord {
			if unicode.IsSpace(ch) {
				phase = inSpaces
				if blankOK || b.Len() > 0 {
					words = append(words, b.String())
				}
				b.Reset()
				blankOK = false
				continue
			}
			if ch == '\'' || ch == '"' {
				quote, blankOK, phase = ch, true, inQuote
			}
			if ch == esc {
				if pos+w == len(rest) {
					continue
				}
				b.WriteRune(ch)
				pos += w
				ch, w = utf8.DecodeRuneInString(rest[pos:])
			}
			b.WriteRune(ch)
			continue
		}
		// inQuote
		if ch == quote {
			phase = inWord
		}
		if ch == esc && quote != '\'' {
			if pos+w == len(rest) {
				phase = inWord
				continue
			}
			pos += w
			b.WriteRune(ch)
			ch, w = utf8.DecodeRuneInString(rest[pos:])
		}
		b.WriteRune(ch)
	}
	return words
}

// extractFlags takes the leading --flag words off an instruction's
// arguments, removing quotes and escapes from them. A lone "--" ends the
// flags.
func extractFlags(line string, esc rune) (string, []string) {
	const (
		inSpaces = iota
		inWord
		inQuote
	)
	var (
		words   []string
		b       strings.Builder
		phase   = inSpaces
		quote   byte
		blankOK bool
		ch      byte
	)
	isEsc := func(c byte) bool { return esc < utf8.RuneSelf && c == byte(esc) }
	for pos := 0; pos <= len(line); pos++ {
		if pos != len(line) {
			ch = line[pos]
		}
		if phase == inSpaces {
			if pos == len(line) {
				break
			}
			if unicode.IsSpace(rune(ch)) {
				continue
			}
			if ch != '-' || pos+1 == len(line) || line[pos+1] != '-' {
				return line[pos:], words
			}
			phase = inWord
		}
		if pos == len(line) {
			if w := b.String(); w != "--" && (blankOK || len(w) > 0) {
				words = append(words, w)
			}
			break
		}
		if phase == inWord {
			if unicode.IsSpace(rune(ch)) {
				w := b.String()
				phase = inSpaces
				if w == "--" {
					return line[pos:], words
				}
				if blankOK || len(w) > 0 {
					words = append(words, w)
				}
				b.Reset()
				blankOK = false
				continue
			}
			if ch == '\'' || ch == '"' {
				quote, blankOK, phase = ch, true, inQuote
				continue
			}
			if isEsc(ch) {
				if pos+1 == len(line) {
					continue
				}
				pos++
				ch = line[pos]
			}
			b.WriteByte(ch)
			continue
		}
		if ch == quote {
			phase = inWord
			continue
		}
		if isEsc(ch) {
			if pos+1 == len(line) {
				phase = inWord
				continue
			}
			pos++
			ch = line[pos]
		}
		b.WriteByte(ch)
	}
	return "", words
}

// heredocWord is compiled on first use, not at package init (see onbuildPrefix).
var heredocWord = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(\d*)<<(-?)\s*([^<]*)$`) })

// heredocsFromLine finds the heredoc words ("<<EOF", "<<-'EOF'", "3<<EOF")
// of an instruction line.
func heredocsFromLine(line string) ([]Heredoc, error) {
	l := lexer{esc: '\\', mode: lexMode{rawQuotes: true, rawEscapes: true, skipUnset: true}}
	l.init(line, nil)
	_, words, err := l.run()
	if err != nil {
		return nil, nil //nolint:nilerr // as BuildKit: an unlexable line has no heredocs
	}
	var docs []Heredoc
	for _, w := range words {
		h, err := parseHeredocWord(w)
		if err != nil {
			return nil, err
		}
		if h != nil {
			docs = append(docs, *h)
		}
	}
	return docs, nil
}

// parseHeredocWord parses one word as a heredoc start, or returns nil.
func parseHeredocWord(word string) (*Heredoc, error) {
	if !strings.Contains(word, "<<") {
		return nil, nil
	}
	m := heredocWord().FindStringSubmatch(word)
	if m == nil || m[3] == "" {
		return nil, nil
	}
	fd, _ := strconv.ParseUint(m[1], 10, 0)
	l := lexer{esc: '\\', mode: lexMode{skipUnset: true}}
	l.init(m[3], nil)
	_, words, err := l.run()
	if err != nil {
		return nil, errorf(ErrHeredoc, "%v", err)
	}
	if len(words) != 1 {
		return nil, nil
	}
	l = lexer{esc: '\\', mode: lexMode{skipUnset: true, rawQuotes: true}}
	l.init(m[3], nil)
	_, raw, err := l.run()
	if err != nil {
		return nil, errorf(ErrHeredoc, "%v", err)
	}
	if len(raw) != 1 {
		return nil, errorf(ErrHeredoc, "internal lexing of heredoc produced inconsistent results: %s", m[3])
	}
	quotes := func(s string) int { return strings.Count(s, `'`) + strings.Count(s, `"`) }
	return &Heredoc{
		Name:           words[0],
		FileDescriptor: uint(fd),
		Chomp:          m[2] == "-",
		Expand:         quotes(words[0]) == quotes(raw[0]),
	}, nil
}
