package dockerfile

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// eof is returned by the lexer's peek and next at the end of the input.
const eof rune = -1

// lexMode selects the lexer's variants. BuildKit uses the same lexer with
// different switches for word expansion, heredoc detection and heredoc bodies.
type lexMode struct {
	rawQuotes  bool // keep quote characters in the result
	rawEscapes bool // keep escape characters in the result
	skipQuotes bool // treat quotes as ordinary characters
	skipUnset  bool // leave references to unset variables as written
}

// lexer expands one word. It is not safe for concurrent use; a new one is
// cheap.
type lexer struct {
	mode       lexMode
	esc        rune
	env        Env
	src        string
	pos        int
	rawEscapes bool
	// wordsBuf is shared by nested processing, as in BuildKit: a nested
	// ${...} operand resets it, which drops a partial word being split.
	wordsBuf strings.Builder
	matched  map[string]struct{}
}

func (l *lexer) init(src string, env Env) {
	l.src, l.pos, l.env = src, 0, env
	l.rawEscapes = l.mode.rawEscapes
}

func (l *lexer) peek() rune {
	if l.pos >= len(l.src) {
		return eof
	}
	c := l.src[l.pos]
	if c < utf8.RuneSelf {
		return rune(c)
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.pos:])
	return r
}

func (l *lexer) next() rune {
	if l.pos >= len(l.src) {
		return eof
	}
	c := l.src[l.pos]
	if c < utf8.RuneSelf {
		l.pos++
		return rune(c)
	}
	r, w := utf8.DecodeRuneInString(l.src[l.pos:])
	l.pos += w
	return r
}

// word runs the lexer over the whole input and returns the expanded string
// and the words it splits into.
func (l *lexer) run() (string, []string, error) {
	s, words, err := l.stopOn(eof, l.rawEscapes, false)
	if err != nil {
		return "", nil, &ExpandError{Word: l.src, Err: err}
	}
	return s, words, nil
}

type wordSplitter struct {
	buf    *strings.Builder
	words  []string
	inWord bool
}

func (w *wordSplitter) addChar(ch rune) {
	if unicode.IsSpace(ch) {
		if w.inWord && w.buf.Len() != 0 {
			w.words = append(w.words, w.buf.String())
			w.buf.Reset()
			w.inWord = false
		}
		return
	}
	w.addRawChar(ch)
}

func (w *wordSplitter) addRawChar(ch rune) {
	w.buf.WriteRune(ch)
	w.inWord = true
}

func (w *wordSplitter) addString(s string) {
	for _, ch := range s {
		w.addChar(ch)
	}
}

func (w *wordSplitter) addRawString(s string) {
	w.buf.WriteString(s)
	w.inWord = true
}

func (w *wordSplitter) result() []string {
	if w.buf.Len() > 0 {
		w.words = append(w.words, w.buf.String())
		w.buf.Reset()
		w.inWord = false
	}
	return w.words
}

// stopOn processes input up to stop (consumed) or the end of input.
func (l *lexer) stopOn(stop rune, rawEscapes, keepPatternEscapes bool) (string, []string, error) {
	var result strings.Builder
	l.wordsBuf.Reset()
	words := wordSplitter{buf: &l.wordsBuf}

	saved := l.rawEscapes
	l.rawEscapes = rawEscapes
	defer func() { l.rawEscapes = saved }()

	for {
		ch := l.peek()
		if ch == eof {
			break
		}
		if stop != eof && ch == stop {
			l.next()
			return result.String(), words.result(), nil
		}
		var (
			tmp     string
			err     error
			special = true
		)
		switch {
		case ch == '$':
			tmp, err = l.dollar()
		case ch == '<':
			tmp = l.possibleHeredoc()
		case ch == '\'' && !l.mode.skipQuotes:
			tmp, err = l.singleQuote(keepPatternEscapes)
		case ch == '"' && !l.mode.skipQuotes:
			tmp, err = l.doubleQuote(keepPatternEscapes)
		default:
			special = false
		}
		if special {
			if err != nil {
				return "", nil, err
			}
			result.WriteString(tmp)
			if ch == '$' {
				words.addString(tmp)
			} else {
				words.addRawString(tmp)
			}
			continue
		}
		ch = l.next()
		if ch == l.esc {
			if l.rawEscapes {
				words.addRawChar(ch)
				result.WriteRune(ch)
			}
			ch = l.next()
			if ch == eof {
				break
			}
			words.addRawChar(ch)
		} else {
			words.addChar(ch)
		}
		result.WriteRune(ch)
	}
	if stop != eof {
		return "", nil, fmt.Errorf("unexpected end of statement while looking for matching %s", string(stop))
	}
	return result.String(), words.result(), nil
}

func (l *lexer) singleQuote(keepPatternEscapes bool) (string, error) {
	var b strings.Builder
	ch := l.next()
	if l.mode.rawQuotes {
		b.WriteRune(ch)
	}
	for {
		ch = l.next()
		switch ch {
		case eof:
			return "", errors.New("unexpected end of statement while looking for matching single-quote")
		case '\'':
			if l.mode.rawQuotes {
				b.WriteRune(ch)
			}
			return b.String(), nil
		}
		if keepPatternEscapes && ch == l.esc {
			b.WriteRune(ch)
		}
		b.WriteRune(ch)
	}
}

func (l *lexer) doubleQuote(keepPatternEscapes bool) (string, error) {
	var b strings.Builder
	ch := l.next()
	if l.mode.rawQuotes {
		b.WriteRune(ch)
	}
	for {
		switch l.peek() {
		case eof:
			return "", errors.New("unexpected end of statement while looking for matching double-quote")
		case '"':
			ch := l.next()
			if l.mode.rawQuotes {
				b.WriteRune(ch)
			}
			return b.String(), nil
		case '$':
			v, err := l.dollar()
			if err != nil {
				return "", err
			}
			b.WriteString(v)
		default:
			ch := l.next()
			if ch == l.esc {
				switch p := l.peek(); {
				case p == eof:
					continue
				case p == '"' || p == '$' || p == l.esc:
					if l.rawEscapes {
						b.WriteRune(ch)
					}
					ch = l.next()
				default:
					if l.rawEscapes && (!l.mode.rawQuotes || keepPatternEscapes) {
						b.WriteRune(ch)
					}
				}
			}
			b.WriteRune(ch)
		}
	}
}

func (l *lexer) lookup(name string) (string, bool) {
	if l.env == nil {
		return "", false
	}
	v, ok := l.env.Lookup(name)
	if ok && l.matched != nil {
		l.matched[name] = struct{}{}
	}
	return v, ok
}

func (l *lexer) dollar() (string, error) {
	l.next() // '$'
	if l.peek() != '{' {
		name := l.name()
		if name == "" {
			return "$", nil
		}
		v, ok := l.lookup(name)
		if !ok && l.mode.skipUnset {
			return "$" + name, nil
		}
		return v, nil
	}
	l.next() // '{'
	switch l.peek() {
	case eof:
		return "", errors.New("syntax error: missing '}'")
	case '{', '}', ':':
		return "", errors.New("syntax error: bad substitution")
	}
	name := l.name()
	ch := l.next()
	op := runeString(ch)
	nullIsUnset := false
	switch ch {
	case '}':
		v, ok := l.lookup(name)
		if !ok && l.mode.skipUnset {
			return "${" + name + "}", nil
		}
		return v, nil
	case ':':
		nullIsUnset = true
		ch = l.next()
		op += runeString(ch)
		fallthrough
	case '+', '-', '?', '#', '%':
		pattern := ch == '#' || ch == '%'
		if nullIsUnset && pattern {
			return "", fmt.Errorf("unsupported modifier (%s) in substitution", op)
		}
		word, _, err := l.stopOn('}', pattern, pattern)
		if err != nil {
			if l.peek() == eof {
				return "", errors.New("syntax error: missing '}'")
			}
			return "", err
		}
		v, set := l.lookup(name)
		if l.mode.skipUnset && !set {
			return "${" + name + op + word + "}", nil
		}
		switch ch {
		case '-':
			if !set || (nullIsUnset && v == "") {
				return word, nil
			}
			return v, nil
		case '+':
			if !set || (nullIsUnset && v == "") {
				return "", nil
			}
			return word, nil
		case '?':
			if !set {
				msg := "is not allowed to be unset"
				if word != "" {
					msg = word
				}
				return "", fmt.Errorf("%s: %s", name, msg)
			}
			if nullIsUnset && v == "" {
				msg := "is not allowed to be empty"
				if word != "" {
					msg = word
				}
				return "", fmt.Errorf("%s: %s", name, msg)
			}
			return v, nil
		case '%', '#':
			greedy := false
			if len(word) > 0 && word[0] == byte(ch) {
				greedy = true
				word = word[1:]
			}
			if ch == '%' {
				return trimSuffixPattern(word, v, greedy)
			}
			return trimPrefixPattern(word, v, greedy)
		default:
			return "", fmt.Errorf("unsupported modifier (%s) in substitution", op)
		}
	case '/':
		all := l.peek() == '/'
		if all {
			l.next()
		}
		pat, _, err := l.stopOn('/', true, true)
		if err != nil {
			if l.peek() == eof {
				return "", errors.New("syntax error: missing '/' in ${}")
			}
			return "", err
		}
		repl, _, err := l.stopOn('}', true, false)
		if err != nil {
			if l.peek() == eof {
				return "", errors.New("syntax error: missing '}'")
			}
			return "", err
		}
		v, set := l.lookup(name)
		if l.mode.skipUnset && !set {
			return "${" + name + "/" + pat + "/" + repl + "}", nil
		}
		re, err := shellPatternRegexp(pat, true, false)
		if err != nil {
			return "", fmt.Errorf("invalid pattern (%s) in substitution: %w", pat, err)
		}
		if all {
			return re.ReplaceAllString(v, repl), nil
		}
		if idx := re.FindStringIndex(v); idx != nil {
			v = v[:idx[0]] + repl + v[idx[1]:]
		}
		return v, nil
	default:
		return "", fmt.Errorf("unsupported modifier (%s) in substitution", op)
	}
}

func runeString(r rune) string {
	if r == eof {
		return string(utf8.RuneError)
	}
	return string(r)
}

// name reads a variable name: letters, digits and '_', a run of digits
// (positional parameter) or one special parameter character.
func (l *lexer) name() string {
	start := l.pos
	for {
		ch := l.peek()
		if ch == eof {
			break
		}
		if l.pos == start && unicode.IsDigit(ch) {
			for unicode.IsDigit(l.peek()) {
				l.next()
			}
			return l.src[start:l.pos]
		}
		if l.pos == start && isSpecialParam(ch) {
			l.next()
			return string(ch)
		}
		if !unicode.IsLetter(ch) && !unicode.IsDigit(ch) && ch != '_' {
			break
		}
		l.next()
	}
	if l.pos == start {
		return ""
	}
	// Invalid UTF-8 cannot be a letter, so the slice is valid text.
	return l.src[start:l.pos]
}

func isSpecialParam(ch rune) bool {
	switch ch {
	case '@', '*', '#', '?', '-', '$', '!', '0':
		return true
	}
	return false
}

func (l *lexer) possibleHeredoc() string {
	l.next()
	if l.peek() != '<' {
		return "<"
	}
	l.next()
	start := l.pos
	for {
		switch l.peek() {
		case '\t', '\r', ' ':
			l.next()
			continue
		}
		break
	}
	return "<<" + l.src[start:l.pos]
}

// shellPatternRegexp converts a shell wildcard pattern (* and ?, with \ to
// quote) to a regular expression.
func shellPatternRegexp(pattern string, greedy, anchored bool) (*regexp.Regexp, error) {
	var out strings.Builder
	if anchored {
		out.WriteByte('^')
	}
	star := ".*?"
	if greedy {
		star = ".*"
	}
	p := lexer{src: pattern}
	for tok := p.next(); tok != eof; tok = p.next() {
		switch tok {
		case '*':
			out.WriteString(star)
			continue
		case '?':
			out.WriteByte('.')
			continue
		case '\\':
			if n := p.peek(); n == '}' || n == '/' {
				continue
			}
			out.WriteByte('\\')
			tok = p.next()
			if tok != '*' && tok != '?' && tok != '\\' {
				if tok == eof {
					return nil, fmt.Errorf("invalid escape '\\%c'", int32(tok))
				}
				return nil, fmt.Errorf("invalid escape '\\%c'", tok)
			}
		case '[', ']', '{', '}', '.', '+', '(', ')', '|', '^', '$':
			out.WriteByte('\\')
		}
		out.WriteRune(tok)
	}
	return regexp.Compile(out.String())
}

func trimPrefixPattern(pattern, value string, greedy bool) (string, error) {
	re, err := shellPatternRegexp(pattern, greedy, true)
	if err != nil {
		return "", fmt.Errorf("invalid pattern (%s) in substitution: %w", pattern, err)
	}
	if idx := re.FindStringIndex(value); idx != nil {
		value = value[idx[1]:]
	}
	return value, nil
}

// trimSuffixPattern reverses pattern and value so that the shortest or
// longest suffix becomes a leftmost match.
func trimSuffixPattern(pattern, value string, greedy bool) (string, error) {
	s, err := trimPrefixPattern(reversePattern(pattern), reverseRunes(value), greedy)
	if err != nil {
		return "", err
	}
	return reverseRunes(s), nil
}

// reversePattern reverses a pattern keeping each \x escape pair in order.
func reversePattern(pattern string) string {
	in := []rune(pattern)
	out := make([]rune, len(in))
	last := len(in) - 1
	for i := 0; i <= last; {
		o := last - i
		if in[i] == '\\' && i != last {
			out[o-1] = in[i]
			out[o] = in[i+1]
			i += 2
			continue
		}
		out[o] = in[i]
		i++
	}
	return string(out)
}

func reverseRunes(s string) string {
	r := []rune(s)
	slices.Reverse(r)
	return string(r)
}
