package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/skiffrt/skiff"
)

// statsJSON is one sample of GET /containers/{id}/stats, with Docker's field names.
type statsJSON struct {
	Name        string                  `json:"name"`
	ID          string                  `json:"id"`
	Read        time.Time               `json:"read"`
	PreRead     time.Time               `json:"preread"`
	PidsStats   pidsStats               `json:"pids_stats"`
	BlkioStats  map[string]any          `json:"blkio_stats"`
	NumProcs    uint32                  `json:"num_procs"`
	CPUStats    cpuStats                `json:"cpu_stats"`
	PreCPUStats cpuStats                `json:"precpu_stats"`
	MemoryStats memoryStats             `json:"memory_stats"`
	Networks    map[string]netStatsJSON `json:"networks,omitempty"`
}

type pidsStats struct {
	Current uint64 `json:"current,omitempty"`
	Limit   uint64 `json:"limit,omitempty"`
}

type cpuStats struct {
	CPUUsage struct {
		TotalUsage        uint64 `json:"total_usage"`
		UsageInKernelmode uint64 `json:"usage_in_kernelmode"`
		UsageInUsermode   uint64 `json:"usage_in_usermode"`
	} `json:"cpu_usage"`
	SystemUsage    uint64 `json:"system_cpu_usage,omitempty"`
	OnlineCPUs     uint32 `json:"online_cpus,omitempty"`
	ThrottlingData struct {
		Periods          uint64 `json:"periods"`
		ThrottledPeriods uint64 `json:"throttled_periods"`
		ThrottledTime    uint64 `json:"throttled_time"`
	} `json:"throttling_data"`
}

type memoryStats struct {
	Usage uint64            `json:"usage,omitempty"`
	Stats map[string]uint64 `json:"stats,omitempty"`
	Limit uint64            `json:"limit,omitempty"`
}

type netStatsJSON struct {
	RxBytes   uint64 `json:"rx_bytes"`
	RxPackets uint64 `json:"rx_packets"`
	RxErrors  uint64 `json:"rx_errors"`
	RxDropped uint64 `json:"rx_dropped"`
	TxBytes   uint64 `json:"tx_bytes"`
	TxPackets uint64 `json:"tx_packets"`
	TxErrors  uint64 `json:"tx_errors"`
	TxDropped uint64 `json:"tx_dropped"`
}

func toCPUStats(s *skiff.ContainerStats) cpuStats {
	var c cpuStats
	c.CPUUsage.TotalUsage = s.CPUUsageNS
	c.CPUUsage.UsageInKernelmode = s.CPUSystemNS
	c.CPUUsage.UsageInUsermode = s.CPUUserNS
	c.SystemUsage = s.SystemCPUNS
	c.OnlineCPUs = uint32(s.OnlineCPUs)
	return c
}

// toStatsJSON renders sample s with prev (nil for none) as its precpu_stats.
func toStatsJSON(id, name string, s, prev *skiff.ContainerStats) statsJSON {
	j := statsJSON{
		Name: "/" + name, ID: id, Read: s.Read,
		PidsStats:  pidsStats{Current: s.PidsCurrent, Limit: s.PidsLimit},
		BlkioStats: map[string]any{},
		CPUStats:   toCPUStats(s),
		MemoryStats: memoryStats{Usage: s.MemoryUsage, Limit: s.MemoryLimit,
			// Both cgroup versions' names: the CLI subtracts whichever it finds.
			Stats: map[string]uint64{"total_inactive_file": s.MemoryInactiveFile, "inactive_file": s.MemoryInactiveFile}},
	}
	if prev != nil {
		j.PreRead = prev.Read
		j.PreCPUStats = toCPUStats(prev)
	}
	if len(s.Networks) > 0 {
		j.Networks = map[string]netStatsJSON{}
		for n, v := range s.Networks {
			j.Networks[n] = netStatsJSON{RxBytes: v.RxBytes, RxPackets: v.RxPackets, RxErrors: v.RxErrors,
				RxDropped: v.RxDropped, TxBytes: v.TxBytes, TxPackets: v.TxPackets, TxErrors: v.TxErrors, TxDropped: v.TxDropped}
		}
	}
	return j
}

// statsInterval is the time between two samples of a stats stream (Docker's).
const statsInterval = time.Second

// containerStats serves GET /containers/{id}/stats: with stream (the default) a sample
// every second, each with the previous one as precpu_stats; with stream=false one
// sample, taken a second after a first one so that precpu_stats is filled (Docker's
// way), or at once with one-shot=true.
func (d *daemon) containerStats(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	c, err := d.container(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	stream := q.Get("stream") == "" || boolQuery(r, "stream")
	oneShot := boolQuery(r, "one-shot")
	if oneShot && stream {
		return errorf(http.StatusBadRequest, "cannot have stream=true and one-shot=true")
	}
	s, err := c.Stats(ctx)
	if err != nil {
		return err
	}
	running := func() bool {
		st := c.State().Status
		return st == skiff.StatusRunning || st == skiff.StatusPaused
	}
	if !stream {
		var prev *skiff.ContainerStats
		if !oneShot && running() {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(statsInterval):
			}
			prev = s
			if s, err = c.Stats(ctx); err != nil {
				return err
			}
		}
		return writeJSON(w, http.StatusOK, toStatsJSON(c.ID(), c.Name(), s, prev))
	}
	sw := startStream(w, "application/json")
	enc := json.NewEncoder(sw)
	var prev *skiff.ContainerStats
	tick := time.NewTicker(statsInterval)
	defer tick.Stop()
	for {
		if err := enc.Encode(toStatsJSON(c.ID(), c.Name(), s, prev)); err != nil {
			return nil // the client went away
		}
		if !running() {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-d.ctx.Done():
			return nil
		case <-tick.C:
		}
		prev = s
		if s, err = c.Stats(ctx); err != nil {
			if errors.Is(err, skiff.ErrNotFound) {
				return nil // removed while watched
			}
			d.log.Warn("stats", "container", c.ID(), "err", err)
			return nil
		}
	}
}

// containerTop serves GET /containers/{id}/top?ps_args=.
func (d *daemon) containerTop(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	c, err := d.container(r.Context(), ref)
	if err != nil {
		return err
	}
	top, err := c.Top(r.Context(), r.URL.Query().Get("ps_args"))
	if errors.Is(err, skiff.ErrInvalidState) {
		return errorf(http.StatusConflict, "Container %s is not running", ref)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, top)
}

// containerChanges serves GET /containers/{id}/changes (docker diff).
func (d *daemon) containerChanges(w http.ResponseWriter, r *http.Request) error {
	c, err := d.container(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	changes, err := c.Changes(r.Context())
	if err != nil {
		return err
	}
	if changes == nil {
		changes = []skiff.Change{}
	}
	return writeJSON(w, http.StatusOK, changes)
}
