package builder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/skiffrt/skiff/errdefs"
	"github.com/skiffrt/skiff/overlay"
	"github.com/skiffrt/skiff/registry"
)

// Runner runs the command of a RUN step. The root package implements it with
// a throwaway container (the engine runs it on the step's snapshot).
type Runner interface {
	// Run runs p with rootfs (a mounted directory) as its root filesystem
	// and returns the process's exit code. A non-nil error means the process
	// could not be run or waited for (the command is missing, ctx ended).
	Run(ctx context.Context, rootfs string, p Process) (exitCode int, err error)
}

// RunnerFunc adapts a function to Runner.
type RunnerFunc func(ctx context.Context, rootfs string, p Process) (int, error)

// Run implements Runner.
func (f RunnerFunc) Run(ctx context.Context, rootfs string, p Process) (int, error) {
	return f(ctx, rootfs, p)
}

// Process is one RUN command.
type Process struct {
	// Args is the command: the stage's SHELL plus the command for the shell
	// form, the array as written for the exec form.
	Args []string
	// Env is the whole environment: the image config's Env, then the build
	// args in scope that Env does not set.
	Env []string
	// User is the config's USER ("" = root), WorkingDir its WORKDIR ("/"
	// when unset; created before the step runs).
	User, WorkingDir string
	// Network is RUN --network: "default", "none" or "host" (Options.Network
	// when the instruction gives none).
	Network string
	// Stdout and Stderr receive the command's output.
	Stdout, Stderr io.Writer
}

// PullFunc fetches an image that is not in the store (a FROM or COPY --from
// base) and returns it stored. platform is the wanted platform, or nil for
// the host's.
type PullFunc func(ctx context.Context, ref string, platform *v1.Platform) (*registry.Image, error)

// Config is what a Builder works with.
type Config struct {
	// Images is the image store: bases are read from it, results written to it.
	// A build holds its GC lock (registry.Store.LockGC) shared, so a collector of the
	// layer store, which takes it exclusive, never removes a layer a running build has
	// unpacked but not yet named; the build removes its own unused layers at the end
	// only when no other build or pull holds it.
	Images *registry.Store
	// Layers is the layer store that snapshots are mounted from.
	Layers *overlay.Store
	// Runner runs RUN steps. Required when the Dockerfile has RUN steps.
	Runner Runner
	// Pull fetches missing base images. Default: none (a missing base is an
	// error wrapping registry.ErrImageNotFound).
	Pull PullFunc
	// CacheDir holds the build cache (step keys and layer blobs). Required;
	// the engine uses <root>/build-cache.
	CacheDir string
	// TempDir is where snapshots are prepared and mounted (".tmp-build-*"
	// dirs, removed after each step). Default: CacheDir. It must be on a
	// filesystem that can hold an overlay upper dir.
	TempDir string
	// Log receives debug events. Default: slog.Default().
	Log *slog.Logger
}

// Options describe one build.
type Options struct {
	// ContextDir is the build context: the root that COPY and ADD sources
	// are resolved in, filtered by its .dockerignore. Required unless the
	// Dockerfile copies nothing from it.
	ContextDir string
	// Dockerfile is the Dockerfile's path, relative to ContextDir unless
	// absolute. Default "Dockerfile". Ignored when DockerfileContent is set.
	Dockerfile string
	// DockerfileContent is the Dockerfile itself.
	DockerfileContent []byte
	// Tags name the result in the store. With none the image is stored
	// under the digest reference localhost/skiff-build@sha256:<manifest>.
	Tags []string
	// BuildArgs are --build-arg values.
	BuildArgs map[string]string
	// Target is the stage to build (name or index). Default: the last one.
	// Only the stages it depends on are built.
	Target string
	// NoCache rebuilds every step (results are still recorded).
	NoCache bool
	// Platform is the target platform, "os/arch[/variant]". Default: the host's.
	Platform string
	// Labels are added to the image config's labels.
	Labels map[string]string
	// Network is the default network of RUN steps ("default", "none",
	// "host"). Default "default".
	Network string
	// SourceDateEpoch, when not zero, makes the build reproducible: new
	// layers' mtimes are clamped to it and it is the creation time of the
	// image and its history. The build arg SOURCE_DATE_EPOCH sets it too.
	SourceDateEpoch time.Time
	// Progress receives an Event at the start and end of each step.
	Progress func(Event)
	// Output receives the output of RUN steps. Default: discarded (the
	// tail is kept for error messages).
	Output io.Writer
}

// EventKind says what an Event reports.
type EventKind int

// Event kinds.
const (
	StepStarted EventKind = iota // a step begins
	StepDone                     // a step ended (Cached tells whether it ran)
	StepFailed                   // a step failed (Err)
)

// Event reports the progress of a build, one step at a time.
type Event struct {
	Kind EventKind
	// Stage is the stage's name, or its index when it has none.
	Stage string
	// Step and Steps count the steps of the stage, from 1 (FROM is step 1).
	Step, Steps int
	// Line is the instruction's line in the Dockerfile.
	Line int
	// Instruction is the instruction as executed (after expansion).
	Instruction string
	// Cached is true when the step's result came from the build cache.
	Cached bool
	// Elapsed is the step's duration (StepDone, StepFailed).
	Elapsed time.Duration
	// Err is the step's error (StepFailed).
	Err error
}

// String formats the event as a progress line: "[stage step/steps] INSTRUCTION".
func (e Event) String() string {
	s := fmt.Sprintf("[%s %d/%d] %s", e.Stage, e.Step, e.Steps, e.Instruction)
	switch e.Kind {
	case StepDone:
		if e.Cached {
			return s + " (cached)"
		}
		return s + " (" + e.Elapsed.Round(time.Millisecond).String() + ")"
	case StepFailed:
		return s + ": " + e.Err.Error()
	}
	return s
}

// Sentinels for errors.Is.
var (
	// ErrRunFailed: a RUN command exited with a non-zero status.
	ErrRunFailed = errdefs.New(errdefs.ErrInvalidArgument, "command failed")
	// ErrSourceNotFound: a COPY/ADD source matches nothing in the context
	// (or only ignored files), or a --from stage does not exist.
	ErrSourceNotFound = errdefs.New(errdefs.ErrNotFound, "source not found")
	// ErrStage: the target or a referenced stage does not exist, or stages
	// depend on each other in a cycle.
	ErrStage = errdefs.New(errdefs.ErrInvalidArgument, "invalid stage")
	// ErrUnsupported: the Dockerfile uses a feature Skiff does not build.
	ErrUnsupported = errdefs.New(errdefs.ErrNotImplemented, "not supported")
	// ErrInvalidOptions: Options or Config are incomplete or malformed.
	ErrInvalidOptions = errdefs.New(errdefs.ErrInvalidArgument, "invalid build options")
)

// StepError is a build failure at one Dockerfile instruction. It prints as
//
//	Dockerfile:LINE: INSTRUCTION: message
//
// and unwraps to the cause (ErrRunFailed for a failed RUN).
type StepError struct {
	File        string // "Dockerfile" when empty
	Line        int
	Instruction string // the instruction as written (its first line)
	ExitCode    int    // RUN only
	Output      string // RUN only: the last lines of the output
	Err         error
}

// Error formats the error with its Dockerfile location, exit code and output tail.
func (e *StepError) Error() string {
	f := e.File
	if f == "" {
		f = "Dockerfile"
	}
	s := f + ":" + strconv.Itoa(e.Line) + ": " + e.Instruction + ": " + e.Err.Error()
	if errors.Is(e.Err, ErrRunFailed) {
		s += ": exit code " + strconv.Itoa(e.ExitCode)
		if out := strings.TrimRight(e.Output, "\n"); out != "" {
			s += "\n" + out
		}
	}
	return s
}

// Unwrap returns the cause.
func (e *StepError) Unwrap() error { return e.Err }
