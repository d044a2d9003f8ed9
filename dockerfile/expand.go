package dockerfile

import "sort"

// Env is where word expansion looks variables up.
type Env interface {
	// Lookup returns the value of a variable and whether it is set.
	Lookup(name string) (string, bool)
}

// MapEnv is an Env backed by a map.
type MapEnv map[string]string

// Lookup implements Env.
func (m MapEnv) Lookup(name string) (string, bool) {
	v, ok := m[name]
	return v, ok
}

// Expander expands variables in words the way BuildKit's shell lexer does:
// $v, ${v}, ${v:-w}, ${v-w}, ${v:+w}, ${v+w}, ${v:?msg}, ${v?msg}, ${v#p},
// ${v##p}, ${v%p}, ${v%%p}, ${v/p/r} and ${v//p/r}; single quotes take
// text literally, double quotes allow expansion, and the escape character
// (the Dockerfile's, '\\' or '`') quotes the next character. Unset variables
// expand to "". The zero value uses '\\'.
type Expander struct {
	// Escape is the escape character; 0 means '\\'.
	Escape rune
}

func (x Expander) lexer(env Env) *lexer {
	esc := x.Escape
	if esc == 0 {
		esc = DefaultEscape
	}
	l := &lexer{esc: esc}
	l.init("", env)
	return l
}

// Word expands word into a single string, removing quotes and escapes.
// Errors are *ExpandError and match ErrExpansion.
func (x Expander) Word(word string, env Env) (string, error) {
	l := x.lexer(env)
	l.init(word, env)
	s, _, err := l.run()
	return s, err
}

// Words expands word and splits the result into words at unquoted
// whitespace, as EXPOSE does.
func (x Expander) Words(word string, env Env) ([]string, error) {
	l := x.lexer(env)
	l.init(word, env)
	_, words, err := l.run()
	return words, err
}

// WordWithMatches is Word that also returns the names of the variables the
// word referred to that were set in env.
func (x Expander) WordWithMatches(word string, env Env) (string, []string, error) {
	l := x.lexer(env)
	l.init(word, env)
	l.matched = map[string]struct{}{}
	s, _, err := l.run()
	names := make([]string, 0, len(l.matched))
	for k := range l.matched {
		names = append(names, k)
	}
	sort.Strings(names)
	return s, names, err
}

// Heredoc expands variables in a heredoc body whose delimiter was not
// quoted. Quotes are kept as they are and the escape character is always
// '\\', as in BuildKit.
func (x Expander) Heredoc(body string, env Env) (string, error) {
	l := &lexer{esc: '\\', mode: lexMode{skipQuotes: true}}
	l.init(body, env)
	s, _, err := l.run()
	return s, err
}
