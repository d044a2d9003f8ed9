package skiff

import (
	"errors"
	"testing"
	"time"
)

func TestRestartPolicyRules(t *testing.T) {
	detached := ContainerConfig{Detach: true}
	for _, tc := range []struct {
		p   RestartPolicy
		cfg ContainerConfig
		ok  bool
	}{
		{RestartPolicy{}, ContainerConfig{}, true},
		{RestartPolicy{Name: RestartNo}, ContainerConfig{AutoRemove: true}, true},
		{RestartPolicy{Name: RestartAlways}, detached, true},
		{RestartPolicy{Name: RestartUnlessStopped}, detached, true},
		{RestartPolicy{Name: RestartOnFailure, MaximumRetryCount: 3}, detached, true},
		{RestartPolicy{Name: RestartNo, MaximumRetryCount: 1}, detached, false},
		{RestartPolicy{Name: RestartAlways, MaximumRetryCount: 1}, detached, false},
		{RestartPolicy{Name: RestartOnFailure, MaximumRetryCount: -1}, detached, false},
		{RestartPolicy{Name: "Always"}, detached, false},
		{RestartPolicy{Name: RestartAlways}, ContainerConfig{Detach: true, AutoRemove: true}, false},
		{RestartPolicy{Name: RestartAlways}, ContainerConfig{}, false},
	} {
		err := tc.p.validate(&tc.cfg)
		if tc.ok != (err == nil) || err != nil && !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("validate(%+v, detach %v, rm %v) = %v", tc.p, tc.cfg.Detach, tc.cfg.AutoRemove, err)
		}
	}

	for _, tc := range []struct {
		p    RestartPolicy
		st   State
		want bool
	}{
		{RestartPolicy{}, State{ExitCode: 1}, false},
		{RestartPolicy{Name: RestartNo}, State{ExitCode: 1}, false},
		{RestartPolicy{Name: RestartAlways}, State{}, true},
		{RestartPolicy{Name: RestartAlways}, State{RestartCount: 1000}, true},
		{RestartPolicy{Name: RestartAlways}, State{ManuallyStopped: true}, false},
		{RestartPolicy{Name: RestartUnlessStopped}, State{ExitCode: 137}, true},
		{RestartPolicy{Name: RestartOnFailure}, State{ExitCode: 0}, false},
		{RestartPolicy{Name: RestartOnFailure}, State{ExitCode: 2, RestartCount: 50}, true},
		{RestartPolicy{Name: RestartOnFailure, MaximumRetryCount: 2}, State{ExitCode: 2, RestartCount: 1}, true},
		{RestartPolicy{Name: RestartOnFailure, MaximumRetryCount: 2}, State{ExitCode: 2, RestartCount: 2}, false},
		{RestartPolicy{Name: RestartOnFailure}, State{ExitCode: 2, ManuallyStopped: true}, false},
	} {
		if got := tc.p.wantsRestart(&tc.st); got != tc.want {
			t.Errorf("%+v wantsRestart(exit %d, count %d, stopped %v) = %v", tc.p, tc.st.ExitCode, tc.st.RestartCount, tc.st.ManuallyStopped, got)
		}
	}

	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		count int
		ran   time.Duration
		want  time.Duration
	}{
		{0, time.Second, 100 * time.Millisecond},
		{1, time.Second, 200 * time.Millisecond},
		{3, time.Second, 800 * time.Millisecond},
		{9, time.Second, 51200 * time.Millisecond},
		{10, time.Second, time.Minute},
		{500, time.Second, time.Minute},
		{500, 10 * time.Second, 100 * time.Millisecond},
	} {
		st := State{RestartCount: tc.count, Started: t0, Finished: t0.Add(tc.ran)}
		if got := restartDelay(&st); got != tc.want {
			t.Errorf("restartDelay(count %d, ran %v) = %v, want %v", tc.count, tc.ran, got, tc.want)
		}
	}
}
