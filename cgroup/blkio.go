package cgroup

import (
	"fmt"
	"strconv"
)

// Throttle kinds of a ThrottleRule.
const (
	ReadBps   = "rbps"
	WriteBps  = "wbps"
	ReadIOPS  = "riops"
	WriteIOPS = "wiops"
)

// ThrottleRule caps one kind of I/O on one block device: bytes or operations per
// second read or written (the OCI runtime spec's linux.resources.blockIO throttle
// entries).
type ThrottleRule struct {
	// Major and Minor are the block device's numbers.
	Major, Minor int64
	// Kind is ReadBps, WriteBps, ReadIOPS or WriteIOPS.
	Kind string
	// Rate is the limit per second; 0 removes it.
	Rate uint64
}

// v1ThrottleFiles are the v1 blkio files of each kind.
var v1ThrottleFiles = map[string]string{
	ReadBps:   "blkio.throttle.read_bps_device",
	WriteBps:  "blkio.throttle.write_bps_device",
	ReadIOPS:  "blkio.throttle.read_iops_device",
	WriteIOPS: "blkio.throttle.write_iops_device",
}

// throttleSettings describes rules as writes to v1 blkio.throttle.* ("8:0 1048576")
// or v2 io.max ("8:0 rbps=1048576", "max" to remove).
func throttleSettings(rules []ThrottleRule, v2 bool) ([]Setting, error) {
	out := make([]Setting, 0, len(rules))
	for _, r := range rules {
		f, ok := v1ThrottleFiles[r.Kind]
		if !ok {
			return nil, fmt.Errorf("%w: block I/O throttle kind %q", ErrInvalidResources, r.Kind)
		}
		if r.Major < 0 || r.Minor < 0 {
			return nil, fmt.Errorf("%w: block I/O throttle of device %d:%d", ErrInvalidResources, r.Major, r.Minor)
		}
		dev := strconv.FormatInt(r.Major, 10) + ":" + strconv.FormatInt(r.Minor, 10)
		rate := strconv.FormatUint(r.Rate, 10)
		if v2 {
			if r.Rate == 0 {
				rate = "max"
			}
			out = append(out, Setting{"io", "io.max", dev + " " + r.Kind + "=" + rate, false})
			continue
		}
		out = append(out, Setting{"blkio", f, dev + " " + rate, false})
	}
	return out, nil
}
