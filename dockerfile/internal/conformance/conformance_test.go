package conformance

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/skiffrt/skiff/dockerfile"
)

const testdata = "../../testdata"

// corpus returns every golden and negative Dockerfile and every fuzz seed
// of package dockerfile, by name.
func corpus(t testing.TB) map[string][]byte {
	out := map[string][]byte{}
	for _, pat := range []string{"golden/*/Dockerfile", "negative/*/Dockerfile"} {
		files, _ := filepath.Glob(filepath.Join(testdata, pat))
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			out[p] = b
		}
	}
	for _, dir := range []string{"fuzz/FuzzParse", "../internal/conformance/testdata/fuzz/FuzzDifferential"} {
		files, _ := filepath.Glob(filepath.Join(testdata, dir, "*"))
		for _, p := range files {
			if s, ok := readFuzzString(t, p); ok {
				out[p] = []byte(s)
			}
		}
	}
	if len(out) < 40 {
		t.Fatalf("corpus too small: %d files", len(out))
	}
	return out
}

// readFuzzString reads the first string value of a "go test fuzz v1" file.
func readFuzzString(t testing.TB, path string) (string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		l := sc.Text()
		if lit, ok := strings.CutPrefix(l, "string("); ok {
			s, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			return s, true
		}
		if lit, ok := strings.CutPrefix(l, "[]byte("); ok {
			s, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			return s, true
		}
	}
	return "", false
}

// TestDifferential runs both parsers over the whole corpus.
func TestDifferential(t *testing.T) {
	for name, src := range corpus(t) {
		if d := Compare(src); d != "" {
			t.Errorf("%s: %s\ninput: %q", name, d, src)
		}
	}
}

// FuzzDifferential looks for inputs on which the parsers disagree.
func FuzzDifferential(f *testing.F) {
	for _, src := range corpus(f) {
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if d := Compare(src); d != "" {
			t.Fatalf("%s\ninput: %q", d, src)
		}
	})
}

type mapEnv map[string]string

func (m mapEnv) Get(k string) (string, bool) { v, ok := m[k]; return v, ok }
func (m mapEnv) Keys() []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

var expandEnv = map[string]string{"A": "a.b.c", "E": "", "S": "x  y", "P": "/usr/bin:/bin", "Q": `"q'`}

func compareExpansion(t *testing.T, word string, esc rune) {
	t.Helper()
	lex := shell.NewLex(esc)
	bw, _, berr := lex.ProcessWord(word, mapEnv(expandEnv))
	sw, serr := dockerfile.Expander{Escape: esc}.Word(word, dockerfile.MapEnv(expandEnv))
	if (berr == nil) != (serr == nil) || bw != sw {
		t.Fatalf("Word(%q, %q): buildkit %q %v, skiff %q %v", word, esc, bw, berr, sw, serr)
	}
	bws, berr := lex.ProcessWords(word, mapEnv(expandEnv))
	sws, serr := dockerfile.Expander{Escape: esc}.Words(word, dockerfile.MapEnv(expandEnv))
	if (berr == nil) != (serr == nil) || strings.Join(bws, "\x00") != strings.Join(sws, "\x00") {
		t.Fatalf("Words(%q, %q): buildkit %q %v, skiff %q %v", word, esc, bws, berr, sws, serr)
	}
	raw := shell.NewLex('\\')
	raw.SkipProcessQuotes = true
	bh, _, berr := raw.ProcessWord(word, mapEnv(expandEnv))
	sh, serr := dockerfile.Expander{}.Heredoc(word, dockerfile.MapEnv(expandEnv))
	if (berr == nil) != (serr == nil) || bh != sh {
		t.Fatalf("Heredoc(%q): buildkit %q %v, skiff %q %v", word, bh, berr, sh, serr)
	}
}

var expansionWords = []string{
	"$A", "${A}", "${A:-x}", "${U:-x}", "${E:-x}", "${E-x}", "${A:+y}", "${E+y}", "${U?}", "${E:?m}",
	"${A#*.}", "${A##*.}", "${A%.*}", "${A%%.*}", "${A/./-}", "${A//./-}", "${P//\\//_}", "${A/#a/b}",
	`'$A'`, `"$A"`, `"\$A"`, `\$A`, "`$A", `a\ b`, `"a\"b"`, `"a\\b"`, `'a\'`, "${", "${}", "${A", "${A:x}",
	"${A:#x}", "$S", `"$S"`, "a${S}b", "${U:-a b}", "x${U:-$A}y", "${A#\\*}", "${A%\\}", "$1$@$#", "${1}",
	"${A/b", "<<EOF", "a<<-b", `"${A}"'${A}'`, "${A%'.'*}", `${A#"a."}`, "${Q}", "$Q", "${A:-'q'}",
	"${U:-\"q\"}", "é$A", "${A//[/x}", "${A/?/x}", "${A/*/x}", "${A//b.c/}",
}

// TestExpansionDifferential compares word expansion with BuildKit's shell
// lexer, with both escape characters.
func TestExpansionDifferential(t *testing.T) {
	for _, w := range expansionWords {
		compareExpansion(t, w, '\\')
		compareExpansion(t, w, '`')
	}
}

// FuzzExpansionDifferential looks for words both lexers expand differently.
func FuzzExpansionDifferential(f *testing.F) {
	for _, w := range expansionWords {
		f.Add(w, false)
	}
	f.Fuzz(func(t *testing.T, word string, backtick bool) {
		esc := '\\'
		if backtick {
			esc = '`'
		}
		compareExpansion(t, word, esc)
	})
}
