package dockerfile

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*/result")

// TestGolden parses every testdata/golden/<case>/Dockerfile and compares the
// syntax dump and the decoded dump with <case>/result.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/golden/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
			if err != nil {
				t.Fatal(err)
			}
			got := goldenDump(t, string(src))
			want := filepath.Join(dir, "result")
			if *update {
				if err := os.WriteFile(want, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			exp, err := os.ReadFile(want)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(exp) {
				t.Errorf("%s: dump differs\n--- got\n%s\n--- want\n%s", dir, got, exp)
			}
		})
	}
}

func goldenDump(t *testing.T, src string) string {
	t.Helper()
	res, err := ParseString(src)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	var b strings.Builder
	b.WriteString("escape " + string(res.Escape) + "\n")
	for _, d := range res.Directives {
		b.WriteString("directive " + d.Name + "=" + d.Value + "\n")
	}
	b.WriteString(res.Root.Dump())
	b.WriteString("----\n")
	f, err := res.File()
	if err != nil {
		b.WriteString("error: " + err.Error() + "\n")
		return b.String()
	}
	b.WriteString(f.Dump())
	return b.String()
}

// TestNegative checks that every testdata/negative/<case>/Dockerfile is
// rejected with the message in <case>/error.
func TestNegative(t *testing.T) {
	dirs, err := filepath.Glob("testdata/negative/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no negative cases: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(dir, "error"))
			if err != nil {
				t.Fatal(err)
			}
			_, perr := ParseFile(strings.NewReader(string(src)))
			if perr == nil {
				t.Fatalf("%s: accepted, want error %q", dir, want)
			}
			if got := perr.Error(); got != strings.TrimSuffix(string(want), "\n") {
				t.Errorf("%s:\n got  %q\n want %q", dir, got, strings.TrimSuffix(string(want), "\n"))
			}
			var e *Error
			if !errors.As(perr, &e) || !errors.Is(perr, ErrSyntax) {
				t.Errorf("%s: error %T is not an *Error matching ErrSyntax", dir, perr)
			}
		})
	}
}

func TestErrorSentinels(t *testing.T) {
	cases := []struct {
		src  string
		want error
	}{
		{"FROM a\nFOO x\n", ErrUnknownInstruction},
		{"FROM a\nCOPY --nope a b\n", ErrUnknownFlag},
		{"FROM a\nCOPY --link=x a b\n", ErrInvalidFlag},
		{"", ErrNoInstructions},
		{"FROM a\nRUN <<EOF\n", ErrHeredoc},
		{"# escape=x\nFROM a\n", ErrDirective},
		{"RUN x\n", ErrNoStage},
		{"FROM a\nUSER\n", ErrArguments},
	}
	for _, c := range cases {
		_, err := ParseFile(strings.NewReader(c.src))
		if !errors.Is(err, c.want) || !errors.Is(err, ErrSyntax) {
			t.Errorf("%q: got %v, want errors.Is %v", c.src, err, c.want)
		}
	}
}
