package skiff

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/skiffrt/skiff/errdefs"
)

// ErrTopFailed: ps, run for Container.Top with arguments, failed or printed no PID
// column.
var ErrTopFailed = errdefs.New(errdefs.ErrInvalidArgument, "ps failed")

// TopResult is a process table of a container (docker top): a header and one row per
// process, cells as ps prints them.
type TopResult struct {
	Titles    []string
	Processes [][]string
}

// Top lists the processes of a running or paused container (its cgroup's). Without
// psArgs the table is ps -ef's (UID PID PPID C STIME TTY TIME CMD), read from /proc;
// with psArgs the host's ps runs with them (as Docker does) and its rows are kept for
// the container's processes only. Host pids are shown.
func (c *Container) Top(ctx context.Context, psArgs string) (*TopResult, error) {
	st := c.State()
	if c.isRemoved() {
		return nil, fmt.Errorf("top of container %s: %w", shortID(c.id), ErrNotFound)
	}
	if st.Status != StatusRunning && st.Status != StatusPaused {
		return nil, &StateError{ID: c.id, Op: "top", From: st.Status, Want: string(StatusRunning)}
	}
	c.mu.Lock()
	cg := c.cg
	c.mu.Unlock()
	var pids []int
	if cg != nil {
		var err error
		if pids, err = cg.Procs(); err != nil {
			return nil, fmt.Errorf("top of container %s: %w", shortID(c.id), err)
		}
	} else if st.Pid > 0 {
		pids = []int{st.Pid}
	}
	slices.Sort(pids)
	if psArgs == "" || psArgs == "-ef" {
		return procTable(pids), nil
	}
	return psTable(ctx, psArgs, pids)
}

// psTable runs the host's ps with args and keeps the rows of pids.
func psTable(ctx context.Context, args string, pids []int) (*TopResult, error) {
	out, err := exec.CommandContext(ctx, "ps", strings.Fields(args)...).Output()
	if err != nil {
		msg := err.Error()
		if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
			msg = strings.TrimSpace(string(ee.Stderr))
		}
		return nil, fmt.Errorf("%w: ps %s: %s", ErrTopFailed, args, msg)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	titles := strings.Fields(lines[0])
	col := slices.Index(titles, "PID")
	if col < 0 {
		return nil, fmt.Errorf("%w: ps %s: no PID column in %q", ErrTopFailed, args, lines[0])
	}
	res := &TopResult{Titles: titles, Processes: [][]string{}}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) <= col {
			continue
		}
		pid, err := strconv.Atoi(f[col])
		if err != nil || !slices.Contains(pids, pid) {
			continue
		}
		// The last column (the command) may hold spaces.
		if len(f) > len(titles) {
			f = append(f[:len(titles)-1], strings.Join(f[len(titles)-1:], " "))
		}
		res.Processes = append(res.Processes, f)
	}
	return res, nil
}

// procTable is ps -ef's table of pids, read from /proc.
func procTable(pids []int) *TopResult {
	res := &TopResult{Titles: []string{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"}, Processes: [][]string{}}
	boot, uptime := bootTime()
	for _, pid := range pids {
		if row, ok := procRow(pid, boot, uptime); ok {
			res.Processes = append(res.Processes, row)
		}
	}
	return res
}

const ticks = 100 // USER_HZ

// bootTime returns when the host booted and for how long it has been up.
func bootTime() (time.Time, time.Duration) {
	data, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return time.Now(), 0
	}
	f := strings.Fields(string(data))
	secs, _ := strconv.ParseFloat(f[0], 64)
	up := time.Duration(secs * float64(time.Second))
	return time.Now().Add(-up), up
}

// procRow reads one process of /proc as a ps -ef row.
func procRow(pid int, boot time.Time, uptime time.Duration) ([]string, bool) {
	dir := "/proc/" + strconv.Itoa(pid)
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return nil, false
	}
	// pid (comm) state ppid pgrp session tty_nr ... utime(14) stime(15) ... starttime(22)
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return nil, false
	}
	comm := string(stat[bytes.IndexByte(stat, '(')+1 : i])
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 20 {
		return nil, false
	}
	num := func(k int) uint64 { n, _ := strconv.ParseUint(f[k-3], 10, 64); return n }
	cpu := num(14) + num(15)
	start := time.Duration(num(22)) * time.Second / ticks
	started := boot.Add(start)
	c := "0"
	if run := uptime - start; run > 0 {
		c = strconv.FormatUint(uint64(time.Duration(cpu)*time.Second/ticks*100/run), 10)
	}
	stime := started.Format("15:04")
	if time.Since(started) > 24*time.Hour {
		stime = started.Format("Jan02")
	}
	tty := "?"
	if nr := num(7); nr != 0 {
		major, minor := (nr>>8)&0xfff, (nr&0xff)|((nr>>12)&0xfff00)
		switch {
		case major >= 136 && major <= 143:
			tty = "pts/" + strconv.FormatUint((major-136)*256+minor, 10)
		default:
			tty = "tty" + strconv.FormatUint(minor, 10)
		}
	}
	t := cpu / ticks
	cputime := fmt.Sprintf("%02d:%02d:%02d", t/3600, t/60%60, t%60)
	cmd := "[" + comm + "]"
	if b, err := os.ReadFile(dir + "/cmdline"); err == nil && len(b) > 0 {
		cmd = strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
	}
	uid := "?"
	if status, err := os.ReadFile(dir + "/status"); err == nil {
		for _, l := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(l, "Uid:"); ok {
				if fs := strings.Fields(v); len(fs) > 1 {
					uid = fs[1] // effective
				}
			}
		}
	}
	if u, err := user.LookupId(uid); err == nil {
		uid = u.Username
	}
	return []string{uid, strconv.Itoa(pid), f[1], c, stime, tty, cputime, cmd}, true
}
