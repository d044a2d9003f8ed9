// Package conformance compares Skiff's Dockerfile parser with BuildKit's
// (github.com/moby/buildkit/frontend/dockerfile/parser and instructions)
// over the golden corpus and the fuzz corpus of package dockerfile. It is a
// separate module so that Skiff's go.mod never names BuildKit:
//
//	go -C dockerfile/internal/conformance test ./...
//	go -C dockerfile/internal/conformance test -bench . -run XXX
//	go -C dockerfile/internal/conformance test -fuzz FuzzDifferential -run XXX
//
// Deliberate differences from BuildKit, which the comparison tolerates:
//
//   - A parser directive error (repeated directive, bad escape) is reported
//     at the directive's own line; BuildKit reports the line before it
//     (line 0 for the first line).
//   - Flag values keep non-ASCII bytes as written; BuildKit re-encodes each
//     byte as a Latin-1 rune, turning "--chown=ü" into mojibake.
//   - Input that is not valid UTF-8 is compared for acceptance only:
//     BuildKit replaces invalid bytes with U+FFFD in some words.
//   - Lines longer than 64 KiB are accepted; BuildKit's line scanner fails.
package conformance
