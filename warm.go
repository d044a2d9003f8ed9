package skiff

import (
	"context"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiffrt/skiff/namespace"
)

// WithWarmInit makes the Engine keep one container init started ahead of time (see
// namespace.Warm): Create of a container that is not detached then hands it the
// container instead of starting a process, which skips the process start and the Go
// runtime's start of the re-executed program — about half of Create's time. A new one
// is started in the background after each use. It pays in a long-lived program that
// creates containers one after another; a program that creates one container and
// exits (a CLI) gains nothing, since the init is started at New either way.
//
// The warm init costs an idle process (a few MB) while it waits. It is made for the
// namespaces of a container on a bridge network; a container that differs (host
// network, a terminal, joined namespaces) gets a cold init, and the next warm one
// follows it. Close the Engine to kill it; if the program dies, the warm init dies
// with it. Default: off.
func WithWarmInit() Option { return func(o *options) { o.warm = true } }

// warmNamespaces are those of a container on a bridge network (buildSpec's).
var warmNamespaces = []specs.LinuxNamespace{
	{Type: specs.PIDNamespace}, {Type: specs.IPCNamespace}, {Type: specs.UTSNamespace},
	{Type: specs.MountNamespace}, {Type: specs.NetworkNamespace},
}

// startWarm starts the warm init of WithWarmInit.
func startWarm() (*namespace.Warm, error) { return namespace.NewWarm(warmNamespaces) }

// createInit creates a container's init: in the warm init if there is one.
func (e *Engine) createInit(ctx context.Context, cfg *namespace.Config) (*namespace.Process, error) {
	if e.warm != nil {
		return e.warm.Create(ctx, cfg)
	}
	return namespace.Create(ctx, cfg)
}

// Close releases what the Engine holds in this process: the warm init of
// WithWarmInit, killed and reaped. Containers, created or running, are not touched.
// The Engine must not create containers after Close.
func (e *Engine) Close() error {
	if e.warm != nil {
		return e.warm.Close()
	}
	return nil
}
