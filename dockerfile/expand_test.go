package dockerfile

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestExpandWord(t *testing.T) {
	env := MapEnv{"A": "a", "EMPTY": "", "PATH": "/usr/local/bin:/usr/bin:/bin", "F": "file.tar.gz", "SP": "x y  z"}
	cases := []struct {
		esc     rune
		in, out string
		err     string
	}{
		{0, "$A", "a", ""},
		{0, "${A}", "a", ""},
		{0, "pre${A}post", "preapost", ""},
		{0, "$UNSET", "", ""},
		{0, "${UNSET:-def}", "def", ""},
		{0, "${EMPTY:-def}", "def", ""},
		{0, "${EMPTY-def}", "", ""},
		{0, "${UNSET-def}", "def", ""},
		{0, "${A:+alt}", "alt", ""},
		{0, "${EMPTY:+alt}", "", ""},
		{0, "${EMPTY+alt}", "alt", ""},
		{0, "${UNSET+alt}", "", ""},
		{0, "${A:?}", "a", ""},
		{0, "${UNSET:?must be set}", "", "UNSET: must be set"},
		{0, "${EMPTY:?}", "", "EMPTY: is not allowed to be empty"},
		{0, "${UNSET?}", "", "UNSET: is not allowed to be unset"},
		{0, "${EMPTY?}", "", ""},
		{0, "${F#*.}", "tar.gz", ""},
		{0, "${F##*.}", "gz", ""},
		{0, "${F%.*}", "file.tar", ""},
		{0, "${F%%.*}", "file", ""},
		{0, "${PATH/bin/BIN}", "/usr/local/BIN:/usr/bin:/bin", ""},
		{0, "${PATH//bin/BIN}", "/usr/local/BIN:/usr/BIN:/BIN", ""},
		{0, "${F/?ile/x}", "x.tar.gz", ""},
		{0, `'$A'`, "$A", ""},
		{0, `"$A"`, "a", ""},
		{0, `"'$A'"`, "'a'", ""},
		{0, `\$A`, "$A", ""},
		{0, `a\ b`, "a b", ""},
		{0, `"a\"b"`, `a"b`, ""},
		{0, `"a\nb"`, `a\nb`, ""},
		{'`', "`$A", "$A", ""},
		{'`', `\$A`, `\a`, ""},
		{'`', "\"a`\"b\"", `a"b`, ""},
		{0, "${A:-${UNSET:-nested}}", "a", ""},
		{0, "${UNSET:-${A}x}", "ax", ""},
		{0, "$", "$", ""},
		{0, "$1", "", ""},
		{0, "${", "", "missing '}'"},
		{0, "${A", "", "unsupported modifier"},
		{0, "${}", "", "bad substitution"},
		{0, "${A:x}", "", "unsupported modifier (:x)"},
		{0, "${A:#x}", "", "unsupported modifier (:#)"},
		{0, `'unterminated`, "", "single-quote"},
		{0, `"unterminated`, "", "double-quote"},
		{0, "${A/x", "", "missing '/'"},
		{0, "${F#\\x}", "", "invalid escape"},
	}
	for _, c := range cases {
		got, err := Expander{Escape: c.esc}.Word(c.in, env)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, ErrExpansion) {
				t.Errorf("Word(%q) = %q, %v; want error containing %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.out {
			t.Errorf("Word(%q, esc %q) = %q, %v; want %q", c.in, c.esc, got, err, c.out)
		}
	}
}

func TestExpandWords(t *testing.T) {
	env := MapEnv{"PORTS": "80 443/tcp", "E": ""}
	cases := []struct {
		in   string
		want []string
	}{
		{"$PORTS", []string{"80", "443/tcp"}},
		{`"$PORTS"`, []string{"80 443/tcp"}},
		{"a b  c", []string{"a", "b", "c"}},
		{`a\ b c`, []string{"a b", "c"}},
		{`'' $E x`, []string{"x"}},
	}
	for _, c := range cases {
		got, err := Expander{}.Words(c.in, env)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("Words(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestArgScoping(t *testing.T) {
	src := `ARG VERSION=1.0
ARG IMAGE=alpine:${VERSION}
ARG ONLYGLOBAL=g
FROM --platform=$BUILDPLATFORM ${IMAGE} AS build
ARG VERSION
ARG TARGETARCH
ARG LOCAL=l-${VERSION}
ENV FROMENV=${LOCAL}-${ONLYGLOBAL}-${TARGETARCH}
WORKDIR /src/$VERSION
RUN --mount=type=cache,target=/cache/$TARGETARCH,id=$LOCAL true
COPY <<EOF /etc/${LOCAL}
v=$VERSION
EOF
EXPOSE $PORTS 22
`
	f, err := ParseFile(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	builtin := BuiltinArgs(Platform{OS: "linux", Architecture: "amd64"}, Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, "")
	global, err := f.GlobalArgs(builtin, map[string]string{"VERSION": "2.0"})
	if err != nil {
		t.Fatal(err)
	}
	st := f.Stages[0]
	base, plat, err := st.ExpandFrom(f.Expander(), global)
	if err != nil || base != "alpine:2.0" || plat != "linux/amd64" {
		t.Fatalf("ExpandFrom = %q %q %v", base, plat, err)
	}
	sc := f.NewScope(map[string]string{"PORTS": "80 443"}, global, map[string]string{"VERSION": "2.0"})
	for _, in := range st.Instructions {
		switch v := in.(type) {
		case *ArgInstruction:
			if err := sc.Declare(v); err != nil {
				t.Fatal(err)
			}
		case Expandable:
			if err := sc.Expand(v); err != nil {
				t.Fatal(err)
			}
		}
	}
	if v, _ := sc.Lookup("FROMENV"); v != "l-2.0--arm64" {
		t.Errorf("FROMENV = %q (ONLYGLOBAL must not leak into the stage)", v)
	}
	wd := st.Instructions[4].(*WorkdirInstruction)
	if wd.Path != "/src/2.0" {
		t.Errorf("WORKDIR = %q", wd.Path)
	}
	run := st.Instructions[5].(*RunInstruction)
	if len(run.Mounts) != 1 || run.Mounts[0].Target != "/cache/arm64" || run.Mounts[0].CacheID != "l-2.0" || run.Mounts[0].Type != "cache" {
		t.Errorf("mounts = %+v", run.Mounts)
	}
	cp := st.Instructions[6].(*CopyInstruction)
	if cp.Dest != "/etc/l-2.0" || cp.Contents[0].Data != "v=2.0\n" {
		t.Errorf("COPY = %+v", cp.SourcesAndDest)
	}
	ex := st.Instructions[7].(*ExposeInstruction)
	if !reflect.DeepEqual(ex.Ports, []string{"80", "443", "22"}) {
		t.Errorf("EXPOSE = %q", ex.Ports)
	}
}

func TestMountParse(t *testing.T) {
	id := func(s string) (string, error) { return s, nil }
	good := map[string]Mount{
		"type=cache,target=/c,sharing=locked,mode=0755":  {Type: "cache", Target: "/c", Sharing: "locked"},
		"type=tmpfs,target=/t,size=64m":                  {Type: "tmpfs", Target: "/t", SizeLimit: 64 << 20},
		"type=bind,from=build,source=/out,target=/in,rw": {Type: "bind", From: "build", Source: "/out", Target: "/in"},
		"type=secret,id=npmrc,target=/root/.npmrc":       {Type: "secret", CacheID: "npmrc", Target: "/root/.npmrc", ReadOnly: true},
		`"type=bind","target=/x,y"`:                      {Type: "bind", Target: "/x,y", ReadOnly: true},
	}
	for spec, want := range good {
		m, err := parseMount(spec, id)
		if err != nil {
			t.Errorf("%s: %v", spec, err)
			continue
		}
		m.Mode = nil
		if !reflect.DeepEqual(*m, want) {
			t.Errorf("%s: got %+v want %+v", spec, *m, want)
		}
	}
	bad := []string{"type=nope", "type=bind,mode=0644", "type=secret", "type=bind,sharing=locked", "target", "type=cache,bogus=1", "", `a"b`, "type=tmpfs,size=lots"}
	for _, spec := range bad {
		if _, err := parseMount(spec, id); err == nil || !errors.Is(err, ErrInvalidFlag) {
			t.Errorf("%q: got %v, want an invalid-flag error", spec, err)
		}
	}
}
