package skiff

import (
	"reflect"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestMergeHealthcheck(t *testing.T) {
	image := &v1.HealthConfig{Test: []string{"CMD-SHELL", "curl -f localhost"}, Interval: time.Second, Timeout: 2 * time.Second,
		StartPeriod: 3 * time.Second, Retries: 4}
	for _, tc := range []struct {
		name  string
		own   *Healthcheck
		image *v1.HealthConfig
		want  *Healthcheck
	}{
		{"neither", nil, nil, nil},
		{"image only", nil, image, &Healthcheck{Test: image.Test, Interval: time.Second, Timeout: 2 * time.Second, StartPeriod: 3 * time.Second, Retries: 4}},
		{"own test, image timings", &Healthcheck{Test: []string{"CMD", "true"}, Retries: 1}, image,
			&Healthcheck{Test: []string{"CMD", "true"}, Interval: time.Second, Timeout: 2 * time.Second, StartPeriod: 3 * time.Second, Retries: 1}},
		{"own timings, image test", &Healthcheck{Interval: 5 * time.Second, StartInterval: time.Second}, image,
			&Healthcheck{Test: image.Test, Interval: 5 * time.Second, Timeout: 2 * time.Second, StartPeriod: 3 * time.Second, StartInterval: time.Second, Retries: 4}},
		{"none", &Healthcheck{Test: []string{"NONE"}}, image,
			&Healthcheck{Test: []string{"NONE"}, Interval: time.Second, Timeout: 2 * time.Second, StartPeriod: 3 * time.Second, Retries: 4}},
	} {
		if got := mergeHealthcheck(tc.own, tc.image); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: merge = %+v, want %+v", tc.name, got, tc.want)
		}
	}
	if mergeHealthcheck(&Healthcheck{Test: []string{"NONE"}}, image).Enabled() {
		t.Error("NONE is enabled")
	}
	d := Healthcheck{Test: []string{"CMD-SHELL", "x"}}.withDefaults()
	if d.Interval != 30*time.Second || d.Timeout != 30*time.Second || d.StartInterval != 5*time.Second || d.Retries != 3 {
		t.Errorf("defaults = %+v", d)
	}
	if got := d.probeArgs(nil); !reflect.DeepEqual(got, []string{"/bin/sh", "-c", "x"}) {
		t.Errorf("CMD-SHELL args = %q", got)
	}
	if got := d.probeArgs([]string{"/bin/ash", "-ec"}); !reflect.DeepEqual(got, []string{"/bin/ash", "-ec", "x"}) {
		t.Errorf("CMD-SHELL args under SHELL = %q", got)
	}
}

func TestHealthOutputLimit(t *testing.T) {
	b := &limitedBuffer{max: 4}
	if n, err := b.Write([]byte("abcdef")); n != 6 || err != nil {
		t.Fatalf("write = %d, %v", n, err)
	}
	b.Write([]byte("gh"))
	if b.String() != "abcd" {
		t.Errorf("kept %q", b.String())
	}
}
