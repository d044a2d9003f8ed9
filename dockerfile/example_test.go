package dockerfile_test

import (
	"fmt"
	"strings"

	"github.com/skiffrt/skiff/dockerfile"
)

func Example() {
	src := `ARG GO=1.22
FROM golang:${GO} AS build
WORKDIR /src
RUN --mount=type=cache,target=/root/.cache go build -o /app .
FROM scratch
COPY --from=build /app /app
ENTRYPOINT ["/app"]
`
	f, err := dockerfile.ParseFile(strings.NewReader(src))
	if err != nil {
		fmt.Println(err)
		return
	}
	global, _ := f.GlobalArgs(nil, nil)
	for _, s := range f.Stages {
		base, _, _ := s.ExpandFrom(f.Expander(), global)
		fmt.Printf("stage %d %q from %s: %d instructions\n", s.Index, s.Name, base, len(s.Instructions))
	}
	// Output:
	// stage 0 "build" from golang:1.22: 2 instructions
	// stage 1 "" from scratch: 2 instructions
}

func ExampleParse() {
	_, err := dockerfile.ParseFile(strings.NewReader("FROM alpine\nCOPY --form=x a b\n"))
	fmt.Println(err)
	// Output:
	// Dockerfile:2: COPY: unknown flag: --form (did you mean from?)
}

func ExampleExpander_Word() {
	env := dockerfile.MapEnv{"FILE": "app.tar.gz"}
	for _, w := range []string{"${FILE%%.*}", "${FILE#*.}", "${MISSING:-default}", `'$FILE'`} {
		v, _ := dockerfile.Expander{}.Word(w, env)
		fmt.Println(v)
	}
	// Output:
	// app
	// tar.gz
	// default
	// $FILE
}
