package dockeropts

import (
	"errors"
	"time"

	"github.com/skiffrt/skiff"
)

// HealthFlags are docker run's --health-cmd, --health-interval, --health-timeout,
// --health-start-period, --health-start-interval, --health-retries and
// --no-healthcheck.
type HealthFlags struct {
	Cmd                                           string
	Interval, Timeout, StartPeriod, StartInterval time.Duration
	Retries                                       int
	None                                          bool
}

// Healthcheck is the container's health check the flags ask for, as docker's CLI
// builds it: nil when no flag is given (the image's applies), Test {"NONE"} for
// --no-healthcheck, {"CMD-SHELL", cmd} for --health-cmd; zero durations and retries
// take the image's values.
func (f HealthFlags) Healthcheck() (*skiff.Healthcheck, error) {
	some := f.Cmd != "" || f.Interval != 0 || f.Timeout != 0 || f.StartPeriod != 0 || f.StartInterval != 0 || f.Retries != 0
	if f.None {
		if some {
			return nil, errors.New("--no-healthcheck conflicts with --health-* options")
		}
		return &skiff.Healthcheck{Test: []string{"NONE"}}, nil
	}
	if !some {
		return nil, nil
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"--health-interval", f.Interval}, {"--health-timeout", f.Timeout}, {"--health-start-period", f.StartPeriod},
		{"--health-start-interval", f.StartInterval}} {
		if d.v < 0 {
			return nil, errors.New(d.flag + " cannot be negative")
		}
	}
	if f.Retries < 0 {
		return nil, errors.New("--health-retries cannot be negative")
	}
	h := &skiff.Healthcheck{Interval: f.Interval, Timeout: f.Timeout, StartPeriod: f.StartPeriod,
		StartInterval: f.StartInterval, Retries: f.Retries}
	if f.Cmd != "" {
		h.Test = []string{"CMD-SHELL", f.Cmd}
	}
	return h, nil
}

// HealthSuffix is what docker ps adds to the status of a running container with a
// health check: " (healthy)", " (unhealthy)" or " (health: starting)"; "" otherwise.
func HealthSuffix(st skiff.State) string {
	if st.Status != skiff.StatusRunning || st.Health == nil {
		return ""
	}
	if st.Health.Status == skiff.HealthStarting {
		return " (health: starting)"
	}
	return " (" + string(st.Health.Status) + ")"
}

// HealthFilterValue is the container's value for docker ps --filter health=: its
// health status, or "none" without a health check.
func HealthFilterValue(st skiff.State) string {
	if st.Health == nil {
		return "none"
	}
	return string(st.Health.Status)
}
