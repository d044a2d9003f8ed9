package conformance

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	bkparser "github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/skiffrt/skiff/dockerfile"
)

// bigDockerfile builds a Dockerfile of about n lines from real-world shaped
// stages: continuations, mounts, heredocs, JSON forms, ENV and LABEL pairs.
func bigDockerfile(n int) []byte {
	var b strings.Builder
	b.WriteString("# syntax=docker/dockerfile:1\nARG GO_VERSION=1.22\n")
	for i := 0; strings.Count(b.String(), "\n") < n; i++ {
		fmt.Fprintf(&b, `FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build%d
WORKDIR /src/app%d
# modules first
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go mod download && \
    go build -o /out/app%d ./cmd/app
ENV CGO_ENABLED=0 GOOS=linux GOARCH=amd64 \
    PATH="/usr/local/go/bin:${PATH}"
LABEL org.opencontainers.image.title="app %d" version=1.%d
RUN <<EOF
set -eux
apt-get update
apt-get install -y --no-install-recommends ca-certificates curl
rm -rf /var/lib/apt/lists/*
EOF
COPY --from=build%d --chown=1000:1000 --chmod=0755 /out/app%d /usr/local/bin/app
EXPOSE 8080/tcp 9090
HEALTHCHECK --interval=30s --timeout=3s CMD ["curl", "-f", "http://localhost:8080/health"]
USER 1000:1000
ENTRYPOINT ["/usr/local/bin/app"]
CMD ["serve", "--port", "8080"]

`, i, i, i, i, i, i, i)
	}
	return []byte(b.String())
}

var big = bigDockerfile(2000)

func BenchmarkParse(b *testing.B) {
	b.Run("skiff", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(big)))
		for b.Loop() {
			if _, err := dockerfile.Parse(bytes.NewReader(big)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("buildkit", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(big)))
		for b.Loop() {
			if _, err := bkparser.Parse(bytes.NewReader(big)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkParseAndDecode adds the typed-instruction layer.
func BenchmarkParseAndDecode(b *testing.B) {
	b.Run("skiff", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := dockerfile.ParseFile(bytes.NewReader(big)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("buildkit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			res, err := bkparser.Parse(bytes.NewReader(big))
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := instructions.Parse(res.AST, linter.New(&linter.Config{})); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestBigDockerfileAgrees(t *testing.T) {
	if n := bytes.Count(big, []byte("\n")); n < 2000 {
		t.Fatalf("benchmark input has %d lines", n)
	}
	if d := Compare(big); d != "" {
		t.Fatal(d)
	}
}
