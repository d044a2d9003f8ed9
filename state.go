package skiff

import (
	"github.com/skiffrt/skiff/netbridge"

	"time"
)

// Status is a container's place in its lifecycle. The words follow Docker's, so
// "exited" is what the lifecycle calls stopped.
type Status string

// The container lifecycle: created → running ⇄ paused → exited → (deleted).
const (
	StatusCreated Status = "created" // rootfs mounted, cgroup made, init waiting before exec
	StatusRunning Status = "running" // the container's process runs
	StatusPaused  Status = "paused"  // every process of it is frozen
	StatusExited  Status = "exited"  // its process ended; the exit code is recorded
)

// State is what the engine records of a container under Root()/containers/<id>/state.json.
// It is written atomically (temp file, rename) at each lifecycle step, so another
// process on the same root reads a complete state.
type State struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Image   string `json:"image"`    // the reference the container was created from
	ImageID string `json:"image_id"` // the image's config digest
	Status  Status `json:"status"`
	Pid     int    `json:"pid,omitempty"` // host pid of the container's init
	// Owner is the pid of the process that reaps the container's init: its monitor
	// when detached, else the process that created it.
	Owner      int                     `json:"owner,omitempty"`
	Detached   bool                    `json:"detached,omitempty"`
	StopSignal string                  `json:"stop_signal,omitempty"` // the image's STOPSIGNAL
	AutoRemove bool                    `json:"auto_remove,omitempty"`
	ExitCode   int                     `json:"exit_code"`
	OOMKilled  bool                    `json:"oom_killed,omitempty"`
	Created    time.Time               `json:"created"`
	Started    time.Time               `json:"started,omitzero"`
	Finished   time.Time               `json:"finished,omitzero"`
	Cgroup     string                  `json:"cgroup"`
	Network    string                  `json:"network"` // NetworkBridge, NetworkNone, NetworkHost or a network name
	Hostname   string                  `json:"hostname"`
	Resources  Resources               `json:"resources"`            // cgroup limits, applied again on restart
	Restarting bool                    `json:"restarting,omitempty"` // a Restart, or a restart policy's, is under way: --rm must not remove it
	Aliases    []string                `json:"aliases,omitempty"`    // network aliases
	Ports      []netbridge.PortMapping `json:"ports,omitempty"`      // published ports
	Cmd        []string                `json:"cmd"`                  // entrypoint and arguments
	Layers     []string                `json:"layers"`               // chain IDs of the image layers, bottom to top
	Labels     map[string]string       `json:"labels,omitempty"`
	// RestartCount counts the restarts of the restart policy since the last Start.
	RestartCount int `json:"restart_count,omitempty"`
	// ManuallyStopped records a Stop or Kill of a container with a restart policy,
	// which ends the policy's restarts until the next Start.
	ManuallyStopped bool `json:"manually_stopped,omitempty"`
	// Config is what the container was created with (its streams left out), Extensions
	// included. States written before it was recorded have none: Container.Config
	// then rebuilds what the other fields tell.
	Config *ContainerConfig `json:"config,omitempty"`
	// Health is what the probes of the container's health check (Config.Healthcheck)
	// found: nil for a container without one, or before its first start.
	Health *Health `json:"health,omitempty"`
	// HealthShell is the image's SHELL, which runs a CMD-SHELL health check (empty:
	// /bin/sh -c).
	HealthShell []string `json:"health_shell,omitempty"`
}
