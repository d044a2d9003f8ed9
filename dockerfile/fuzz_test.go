package dockerfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// addCorpusDockerfiles seeds f with every Dockerfile under testdata/golden
// and testdata/negative (testdata/fuzz/<Fuzz...> is added by go test).
func addCorpusDockerfiles(f *testing.F) {
	for _, pat := range []string{"testdata/golden/*/Dockerfile", "testdata/negative/*/Dockerfile"} {
		files, _ := filepath.Glob(pat)
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(string(b))
		}
	}
}

// FuzzParse checks that no input panics Parse or the decoder, that errors
// are *Error with a line inside the file, and that accepted trees are
// consistent.
func FuzzParse(f *testing.F) {
	addCorpusDockerfiles(f)
	f.Fuzz(func(t *testing.T, src string) {
		res, err := ParseString(src)
		lines := strings.Count(src, "\n") + 1
		if err != nil {
			e, ok := err.(*Error)
			if !ok || e.Line < 0 || e.Line > lines {
				t.Fatalf("error %v (%T) has a bad line (file has %d lines)", err, err, lines)
			}
			return
		}
		prev := 0
		for _, n := range res.Root.Children {
			if n.StartLine <= prev || n.EndLine < n.StartLine || n.EndLine > lines {
				t.Fatalf("node %q spans %d-%d after %d (file has %d lines)", n.Original, n.StartLine, n.EndLine, prev, lines)
			}
			prev = n.EndLine
			_ = n.Dump()
		}
		file, err := res.File()
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("decode error %T is not *Error", err)
			}
			return
		}
		_ = file.Dump()
		x := file.Expander()
		global, err := file.GlobalArgs(BuiltinArgs(Platform{OS: "linux", Architecture: "amd64"}, Platform{OS: "linux", Architecture: "amd64"}, ""), nil)
		if err != nil {
			return
		}
		for _, s := range file.Stages {
			if _, _, err := s.ExpandFrom(x, global); err != nil {
				continue
			}
			sc := file.NewScope(nil, global, nil)
			for _, in := range s.Instructions {
				switch v := in.(type) {
				case *ArgInstruction:
					_ = sc.Declare(v)
				case Expandable:
					_ = sc.Expand(v)
				case *OnbuildInstruction:
					_, _ = v.Trigger()
				}
			}
		}
	})
}

// FuzzExpand checks that expansion never panics, with either escape
// character, and that Word and Words agree on failure.
func FuzzExpand(f *testing.F) {
	for _, s := range []string{"$A", "${A:-x}", "${A/b/c}", "${A//*/}", `'q' "d$A" \$`, "${A%%.*}", "${A#\\*}", "${", "`$A", "<<EOF $A"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	env := MapEnv{"A": "a.b.c", "E": "", "S": "x y"}
	f.Fuzz(func(t *testing.T, word string, backtick bool) {
		x := Expander{}
		if backtick {
			x.Escape = '`'
		}
		_, err1 := x.Word(word, env)
		_, err2 := x.Words(word, env)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("Word and Words disagree on %q: %v / %v", word, err1, err2)
		}
		_, _ = x.Heredoc(word, env)
		_, _ = heredocsFromLine(word)
	})
}
