package dockeropts

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"

	units "github.com/docker/go-units"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ParseMemory parses a memory size as docker -m takes it: bytes, or with a unit
// (b, k, m, g, t, p; "128m", "1g").
func ParseMemory(s string) (int64, error) {
	n, err := units.RAMInBytes(s)
	if err != nil {
		return 0, fmt.Errorf("invalid memory size %q: %w", s, err)
	}
	if n < 0 {
		return 0, fmt.Errorf("invalid memory size %q: negative", s)
	}
	return n, nil
}

// ParseMemorySwap parses docker's --memory-swap, the limit of memory plus swap: -1
// for unlimited swap. It needs the memory limit and may not be below it.
func ParseMemorySwap(s string, memory int64) (int64, error) {
	n := int64(-1)
	if s != "-1" {
		var err error
		if n, err = ParseMemory(s); err != nil {
			return 0, err
		}
	}
	if memory == 0 {
		return 0, errors.New("you should always set the Memory limit when using Memoryswap limit")
	}
	if n > 0 && n < memory {
		return 0, errors.New("minimum memoryswap limit should be larger than memory limit")
	}
	return n, nil
}

// ParseCPUs parses docker's --cpus ("1.5") into nano CPUs (HostConfig.NanoCpus).
func ParseCPUs(s string) (int64, error) {
	r, ok := new(big.Rat).SetString(s)
	if !ok || r.Sign() < 0 {
		return 0, fmt.Errorf("invalid --cpus %q: a positive number of CPUs", s)
	}
	nano := r.Mul(r, big.NewRat(1e9, 1))
	if !nano.IsInt() {
		return 0, fmt.Errorf("invalid --cpus %q: too precise", s)
	}
	return nano.Num().Int64(), nil
}

// CPUQuota turns nano CPUs into a CFS quota per 100 ms period, as Docker does.
func CPUQuota(nanoCPUs int64) (quota int64, period uint64) {
	if nanoCPUs <= 0 {
		return 0, 0
	}
	return nanoCPUs * 100000 / 1e9, 100000
}

// ParseUlimit parses docker's --ulimit name=soft[:hard] ("nofile=1024:2048").
func ParseUlimit(s string) (specs.POSIXRlimit, error) {
	u, err := units.ParseUlimit(s)
	if err != nil {
		return specs.POSIXRlimit{}, fmt.Errorf("invalid ulimit %q: %w", s, err)
	}
	return Ulimit(u.Name, u.Soft, u.Hard)
}

// Ulimit converts an entry of HostConfig.Ulimits.
func Ulimit(name string, soft, hard int64) (specs.POSIXRlimit, error) {
	if _, err := units.ParseUlimit(name + "=0"); err != nil {
		return specs.POSIXRlimit{}, fmt.Errorf("invalid ulimit %q: %w", name, err)
	}
	rlim := func(v int64) uint64 { // -1: unlimited
		if v < 0 {
			return math.MaxUint64
		}
		return uint64(v)
	}
	if rlim(soft) > rlim(hard) {
		return specs.POSIXRlimit{}, fmt.Errorf("invalid ulimit %s: soft limit %d exceeds hard limit %d", name, soft, hard)
	}
	return specs.POSIXRlimit{Type: "RLIMIT_" + strings.ToUpper(name), Soft: rlim(soft), Hard: rlim(hard)}, nil
}
