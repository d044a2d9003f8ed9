package dockerfile

import (
	"fmt"
	"strconv"

	"github.com/skiffrt/skiff/errdefs"
)

// Sentinels for errors.Is. Every error returned by Parse, ParseFile and the
// decoding of instructions is an *Error and matches ErrSyntax; most also wrap
// a more specific sentinel.
var (
	// ErrSyntax matches every *Error: the Dockerfile was rejected.
	ErrSyntax = errdefs.New(errdefs.ErrInvalidArgument, "dockerfile syntax error")
	// ErrNoInstructions: the file holds no instruction at all.
	ErrNoInstructions = errdefs.New(errdefs.ErrInvalidArgument, "file with no instructions")
	// ErrUnknownInstruction: a line starts with a word that is no instruction.
	ErrUnknownInstruction = errdefs.New(errdefs.ErrInvalidArgument, "unknown instruction")
	// ErrUnknownFlag: an instruction got a --flag it does not take.
	ErrUnknownFlag = errdefs.New(errdefs.ErrInvalidArgument, "unknown flag")
	// ErrInvalidFlag: a known flag has a bad or missing value, or is repeated.
	ErrInvalidFlag = errdefs.New(errdefs.ErrInvalidArgument, "invalid flag")
	// ErrArguments: an instruction has the wrong number or form of arguments.
	ErrArguments = errdefs.New(errdefs.ErrInvalidArgument, "invalid arguments")
	// ErrHeredoc: a heredoc is unterminated or used where it is not allowed.
	ErrHeredoc = errdefs.New(errdefs.ErrInvalidArgument, "invalid heredoc")
	// ErrDirective: a parser directive is repeated or has a bad value.
	ErrDirective = errdefs.New(errdefs.ErrInvalidArgument, "invalid parser directive")
	// ErrExpansion: variable expansion failed (bad ${...} syntax, ${v:?msg},
	// unterminated quote).
	ErrExpansion = errdefs.New(errdefs.ErrInvalidArgument, "variable expansion failed")
	// ErrNoStage: an instruction other than ARG comes before the first FROM.
	ErrNoStage = errdefs.New(errdefs.ErrInvalidArgument, "no build stage in current context")
)

// Error is a rejection of a Dockerfile at a line. It prints as
//
//	Dockerfile:LINE: INSTRUCTION: message
//
// (without the instruction part when the error is not about one) and unwraps
// to the underlying error, which usually wraps one of the sentinels above.
type Error struct {
	// File is the name printed before the line; "Dockerfile" when empty.
	File string
	// Line is the 1-based line where the offending instruction starts; 0
	// when the error is about the file as a whole (an empty file).
	Line int
	// EndLine is the last line of the instruction (>= Line).
	EndLine int
	// Instruction is the keyword as written (upper-cased), or "".
	Instruction string
	// Err is what went wrong.
	Err error
}

func (e *Error) Error() string {
	name := e.File
	if name == "" {
		name = "Dockerfile"
	}
	if e.Line > 0 {
		name += ":" + strconv.Itoa(e.Line)
	}
	if e.Instruction != "" {
		return name + ": " + e.Instruction + ": " + e.Err.Error()
	}
	return name + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is ErrSyntax, which every *Error matches.
func (e *Error) Is(target error) bool { return target == ErrSyntax }

// kindError attaches a sentinel to a message without changing the message.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }

func errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// ExpandError is a failure to expand one word.
type ExpandError struct {
	Word string // the word as written
	Err  error
}

func (e *ExpandError) Error() string {
	return "failed to process " + strconv.Quote(e.Word) + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *ExpandError) Unwrap() error { return e.Err }

// Is reports whether target is ErrExpansion.
func (e *ExpandError) Is(target error) bool { return target == ErrExpansion }

// Warning is a finding that does not stop the build: a deprecated or
// discouraged form. Warnings are returned as data and never printed.
type Warning struct {
	Line    int    // 1-based line of the instruction
	Rule    string // BuildKit's check name, e.g. "MaintainerDeprecated"
	Message string
}

func (w Warning) String() string {
	return fmt.Sprintf("Dockerfile:%d: %s: %s", w.Line, w.Rule, w.Message)
}
