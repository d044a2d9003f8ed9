// Package dockerfile reads Dockerfiles the way BuildKit's Dockerfile
// frontend does, in three layers that can be used on their own:
//
//   - Syntax: Parse turns bytes into a Result, a tree of Nodes (one per
//     instruction) with line ranges, the original text, the --flags, the
//     JSON (exec form) marker and heredoc bodies. It applies the parser
//     directives (# syntax=, # escape=, # check=), joins continuation lines
//     (comments and blank lines inside them are dropped), handles CRLF line
//     endings and a UTF-8 byte order mark. It knows how each instruction
//     splits its arguments but not what they mean.
//
//   - Instructions: Result.File (or ParseFile) decodes each node into a
//     typed instruction (*RunInstruction, *CopyInstruction, ...) and groups
//     them into Stages, with their names and indexes; ARGs before the first
//     FROM become File.MetaArgs. Unknown instructions and flags, and bad
//     arguments, are rejected here.
//
//   - Expansion: Expander expands $VAR and the ${VAR...} forms in words as
//     BuildKit's shell lexer does, over an Env. GlobalArgs, Scope and
//     BuiltinArgs implement ARG scoping: ARGs before the first FROM (and the
//     built-in platform ARGs) are visible in FROM lines, and inside a stage
//     only once re-declared by an ARG.
//
// Every rejection is an *Error printing as "Dockerfile:LINE: INSTRUCTION:
// message"; it matches ErrSyntax and usually a more specific sentinel with
// errors.Is. Warnings (deprecated MAINTAINER, the legacy "ENV key value"
// form, shell-form CMD/ENTRYPOINT) are returned as data, never printed.
//
// Where Skiff knowingly differs from BuildKit it is listed in
// internal/conformance, whose tests compare both parsers over the golden and
// fuzz corpora.
package dockerfile
