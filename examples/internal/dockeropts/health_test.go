package dockeropts

import (
	"reflect"
	"testing"
	"time"

	"github.com/skiffrt/skiff"
)

func TestHealthFlags(t *testing.T) {
	for _, tc := range []struct {
		f       HealthFlags
		want    *skiff.Healthcheck
		wantErr string
	}{
		{HealthFlags{}, nil, ""},
		{HealthFlags{None: true}, &skiff.Healthcheck{Test: []string{"NONE"}}, ""},
		{HealthFlags{None: true, Retries: 2}, nil, "--no-healthcheck conflicts with --health-* options"},
		{HealthFlags{Cmd: "wget -q localhost", Interval: time.Second, Retries: 2},
			&skiff.Healthcheck{Test: []string{"CMD-SHELL", "wget -q localhost"}, Interval: time.Second, Retries: 2}, ""},
		{HealthFlags{Timeout: time.Second}, &skiff.Healthcheck{Timeout: time.Second}, ""},
		{HealthFlags{Cmd: "x", Interval: -time.Second}, nil, "--health-interval cannot be negative"},
		{HealthFlags{Cmd: "x", Retries: -1}, nil, "--health-retries cannot be negative"},
	} {
		got, err := tc.f.Healthcheck()
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("%+v: error %v, want %q", tc.f, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%+v: %+v, %v; want %+v", tc.f, got, err, tc.want)
		}
	}
}

func TestHealthSuffix(t *testing.T) {
	for _, tc := range []struct {
		st   skiff.State
		want string
	}{
		{skiff.State{Status: skiff.StatusRunning}, ""},
		{skiff.State{Status: skiff.StatusRunning, Health: &skiff.Health{Status: skiff.HealthStarting}}, " (health: starting)"},
		{skiff.State{Status: skiff.StatusRunning, Health: &skiff.Health{Status: skiff.HealthHealthy}}, " (healthy)"},
		{skiff.State{Status: skiff.StatusRunning, Health: &skiff.Health{Status: skiff.HealthUnhealthy}}, " (unhealthy)"},
		{skiff.State{Status: skiff.StatusExited, Health: &skiff.Health{Status: skiff.HealthUnhealthy}}, ""},
	} {
		if got := HealthSuffix(tc.st); got != tc.want {
			t.Errorf("%v/%+v: %q, want %q", tc.st.Status, tc.st.Health, got, tc.want)
		}
	}
}

func TestHealthFilterValue(t *testing.T) {
	if got := HealthFilterValue(skiff.State{}); got != "none" {
		t.Errorf("without a health check: %q", got)
	}
	if got := HealthFilterValue(skiff.State{Health: &skiff.Health{Status: skiff.HealthHealthy}}); got != "healthy" {
		t.Errorf("healthy: %q", got)
	}
}
