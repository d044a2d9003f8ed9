package namespace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// modeWarm is the initEnv value of a warm init: a container init started before its
// container exists (see Warm).
const modeWarm = "warm"

// Warm keeps one container init started ahead of time, so that [Warm.Create] skips
// the process start and the Go runtime's start of the re-executed binary, which are
// most of a cold [Create]'s time. The warm init was cloned with the namespaces it was
// made for, and blocks on its sync socket before any container code:
//
//	parent (Warm)                               warm init (Init, mode warm)
//	holder goroutine on a locked OS thread
//	cmd.Start (clone flags) ───────────────────►  Go runtime, package inits, Init()
//	                                             blocks in recvmsg on fd 3
//	Create(ctx, cfg) with the same flags:
//	open_tree(Root.Path, OPEN_TREE_CLONE)
//	sendmsg stdio fds, rootfs mount fd, ───────►  dup3 the fds onto 0-2, move_mount
//	  Root.Path (SCM_RIGHTS)                      the rootfs onto Root.Path
//	         ◄──────────────────────────────────  {"type":"warm"} or {"type":"error"}
//	then as Create: BeforeInit(pid), "go" ─────►  runs as a cold init from here
//
// The init's mount namespace is a copy of its creator's made when it was cloned, so
// the container's rootfs, mounted later (an overlay), is not in it: a clone of the
// rootfs mount goes with the stdio. Other sources of Spec.Mounts are taken from the
// copy, as by a cold init: they must not be mounts made after the warm init started.
//
// The holder goroutine keeps the thread that forked the init (which carries its
// Pdeathsig) until the init is ready or dead, so a warm init dies with the program
// that made it; a Create handed a warm init runs its remaining steps on that thread.
//
// A warm init starts (and stays until used) at the lowest CPU priority, nice 19, where
// the program runs as root of the host: refilling after a use does not compete with
// the container just handed over; the handoff gives its threads back priority 0.
//
// A Create whose spec needs what a warm init cannot have — other clone flags, a
// namespace joined by path, a user namespace, a terminal — runs a cold [Create], and
// the next warm init follows that Create's clone flags. After each use a new warm init
// is started in the background (unless [WarmNoRefill]). [Warm.Close] kills and reaps
// the unused one.
type Warm struct {
	refill bool
	nice   bool // start inits at nice 19 (see hostRoot)

	mu       sync.Mutex
	flags    uintptr   // clone flags of the next warm init
	ready    *warmInit // started and waiting for a container; nil if none
	starting bool      // a holder is starting one
	closed   bool
	changed  chan struct{} // closed and replaced at each change of ready or starting
	lastErr  error         // why the last start failed
	holders  sync.WaitGroup
}

// WarmOption configures a Warm.
type WarmOption func(*Warm)

// WarmNoRefill makes a Warm start no new init after its first one was used: for a
// process that creates one container. Default: refill after each use.
func WarmNoRefill() WarmOption { return func(w *Warm) { w.refill = false } }

// NewWarm starts a warm init in the background for containers whose spec has the
// namespaces ns (as Linux.Namespaces; nil means [Create]'s default set). Close it
// with [Warm.Close].
func NewWarm(ns []specs.LinuxNamespace, opts ...WarmOption) (*Warm, error) {
	flags, err := cloneFlags(&specs.Spec{Linux: &specs.Linux{Namespaces: ns}})
	if err != nil {
		return nil, err
	}
	w := &Warm{refill: true, nice: hostRoot(), flags: flags, changed: make(chan struct{})}
	for _, o := range opts {
		o(w)
	}
	w.mu.Lock()
	w.startLocked()
	w.mu.Unlock()
	return w, nil
}

// Ready waits until a warm init is ready and returns its pid. It fails if the Warm is
// closed, if starting the init failed, or when ctx ends.
func (w *Warm) Ready(ctx context.Context) (int, error) {
	for {
		w.mu.Lock()
		ready, starting, closed, lastErr, changed := w.ready, w.starting, w.closed, w.lastErr, w.changed
		w.mu.Unlock()
		switch {
		case closed:
			return 0, fmt.Errorf("warm init: %w", ErrWarmClosed)
		case ready != nil:
			return ready.p.Pid, nil
		case !starting && lastErr != nil:
			return 0, lastErr
		case !starting:
			return 0, fmt.Errorf("warm init: none ready or starting")
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// Create is [Create] with the warm init when cfg suits it, and a cold Create otherwise
// (also when the warm init is not ready yet or died).
func (w *Warm) Create(ctx context.Context, cfg *Config) (*Process, error) {
	flags, ok := warmable(cfg)
	if !ok {
		w.follow(cfg)
		return Create(ctx, cfg)
	}
	filter, err := validate(cfg)
	if err != nil {
		return nil, err
	}
	wi := w.take(flags)
	if wi == nil {
		return Create(ctx, cfg)
	}
	reply := make(chan warmReply, 1)
	wi.req <- warmRequest{ctx: ctx, cfg: cfg, filter: filter, reply: reply}
	r := <-reply
	if !r.used {
		return Create(ctx, cfg)
	}
	return r.p, r.err
}

// Close kills and reaps the warm init if it was not used, and waits for a background
// start to end. Processes made by Create are not touched.
func (w *Warm) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	if w.ready != nil {
		close(w.ready.quit)
		w.ready = nil
	}
	w.notifyLocked()
	w.mu.Unlock()
	w.holders.Wait()
	return nil
}

// ErrWarmClosed is returned by Warm.Ready after Close.
var ErrWarmClosed = errors.New("closed")

// warmable returns cfg's clone flags and whether a warm init can run it.
func warmable(cfg *Config) (uintptr, bool) {
	if cfg == nil || cfg.Spec == nil || cfg.Spec.Process == nil || cfg.Spec.Process.Terminal || userNamespace(cfg.Spec) {
		return 0, false
	}
	if cfg.Spec.Linux != nil {
		for _, ns := range cfg.Spec.Linux.Namespaces {
			if ns.Path != "" {
				return 0, false
			}
		}
	}
	flags, err := cloneFlags(cfg.Spec)
	if err != nil || flags&unix.CLONE_NEWNS == 0 {
		return 0, false
	}
	return flags, true
}

// follow makes the next warm init follow the clone flags of cfg (run cold), if they
// are flags a warm init could have and differ from the current ones.
func (w *Warm) follow(cfg *Config) {
	if cfg == nil || cfg.Spec == nil {
		return
	}
	flags, ok := warmable(&Config{Spec: &specs.Spec{Process: &specs.Process{}, Linux: cfg.Spec.Linux}})
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || flags == w.flags {
		return
	}
	w.flags = flags
	if w.ready != nil {
		close(w.ready.quit)
		w.ready = nil
		w.notifyLocked()
	}
	if w.refill {
		w.startLocked()
	}
}

// take hands out the ready warm init if it was made with flags. Otherwise the next one
// is made with flags (a ready one with other flags is dropped).
func (w *Warm) take(flags uintptr) *warmInit {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	wi := w.ready
	w.flags = flags
	switch {
	case wi != nil && wi.flags == flags:
		w.ready = nil
		if w.refill {
			w.startLocked()
		}
		w.notifyLocked()
		return wi
	case wi != nil:
		close(wi.quit)
		w.ready = nil
		if w.refill {
			w.startLocked()
		}
	case !w.starting && w.refill:
		w.startLocked()
	}
	return nil
}

func (w *Warm) notifyLocked() {
	close(w.changed)
	w.changed = make(chan struct{})
}

// startLocked starts a holder goroutine making a warm init with w.flags.
func (w *Warm) startLocked() {
	if w.starting || w.closed {
		return
	}
	w.starting = true
	w.notifyLocked()
	w.holders.Add(1)
	go w.hold(w.flags)
}

// hold makes one warm init and keeps its OS thread (Pdeathsig) until the init is
// handed to a Create and ready, or killed.
func (w *Warm) hold(flags uintptr) {
	defer w.holders.Done()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	wi, err := startWarm(flags, w.nice)
	w.mu.Lock()
	w.starting = false
	w.lastErr = err
	switch {
	case err != nil:
	case w.closed || w.flags != flags || w.ready != nil:
		close(wi.quit) // no longer wanted
	default:
		w.ready = wi
	}
	w.notifyLocked()
	if err == nil && w.flags != flags && !w.closed && w.refill {
		w.startLocked() // the wanted flags changed meanwhile
	}
	w.mu.Unlock()
	if err != nil {
		return
	}
	select {
	case req := <-wi.req:
		req.reply <- wi.handoff(req.ctx, req.cfg, req.filter)
	case <-wi.quit:
		wi.kill()
	}
}

// warmInit is one started warm init.
type warmInit struct {
	flags          uintptr
	p              *Process
	stdout, stderr *relay // where the init's own stdio pipes go until replaced
	req            chan warmRequest
	quit           chan struct{} // closed: kill it
}

type warmRequest struct {
	ctx    context.Context
	cfg    *Config
	filter *seccompFilter // cfg's, compiled by validate
	reply  chan<- warmReply
}

type warmReply struct {
	p    *Process
	err  error
	used bool // false: the init was gone before anything of cfg was done; run cold
}

// startWarm starts a warm init with flags, at nice 19 if nice; the caller's goroutine
// is locked to its thread.
func startWarm(flags uintptr, nice bool) (*warmInit, error) {
	exe, err := sealedExe()
	if err != nil {
		return nil, err
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("warm init: sync socketpair: %w", err)
	}
	parentSock := os.NewFile(uintptr(fds[0]), "sync-parent")
	childSock := os.NewFile(uintptr(fds[1]), "sync-child")
	defer childSock.Close()
	// stdout and stderr are pipes that os/exec copies (and Wait waits for): a Create
	// either replaces them in the init (then they end at once) or gives the relays
	// their destination.
	wi := &warmInit{flags: flags, stdout: newRelay(), stderr: newRelay(),
		req: make(chan warmRequest), quit: make(chan struct{})}
	cmd := &exec.Cmd{
		Path:       "/proc/self/fd/" + strconv.Itoa(initExeFd),
		Args:       []string{initArgv0},
		Env:        []string{initEnv + "=" + modeWarm},
		Stdout:     wi.stdout,
		Stderr:     wi.stderr,
		ExtraFiles: []*os.File{childSock, exe, nil},
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: flags,
			Pdeathsig:  syscall.SIGKILL,
		},
	}
	if nice {
		// The child inherits the forking thread's priority; so do all its threads.
		_ = unix.Setpriority(unix.PRIO_PROCESS, 0, 19)
	}
	err = cmd.Start()
	if nice {
		_ = unix.Setpriority(unix.PRIO_PROCESS, 0, 0)
	}
	if err != nil {
		parentSock.Close()
		return nil, fmt.Errorf("warm init: start: %w", err)
	}
	wi.p = &Process{Pid: cmd.Process.Pid, cmd: cmd, sync: parentSock, syncDec: json.NewDecoder(parentSock)}
	return wi, nil
}

// kill kills and reaps an init that will not run a container.
func (wi *warmInit) kill() {
	_ = wi.p.cmd.Process.Kill()
	wi.stdout.to(io.Discard)
	wi.stderr.to(io.Discard)
	_ = wi.p.cmd.Wait()
	wi.p.closeSync()
}

// handoff gives the warm init cfg's stdio, then runs the rest of Create's protocol
// (see spawn) on the holder's thread.
func (wi *warmInit) handoff(ctx context.Context, cfg *Config, filter *seccompFilter) (r warmReply) {
	p := wi.p
	fifo := filepath.Join(cfg.StateDir, FifoName)
	var stdin *stdinCopy
	fail := func(err error) warmReply {
		_ = os.Remove(fifo)
		stdin.close()
		wi.kill()
		return warmReply{err: err, used: true}
	}
	_ = os.Remove(fifo)
	if err := unix.Mkfifo(fifo, 0o622); err != nil {
		return fail(&os.PathError{Op: "mkfifo", Path: fifo, Err: err})
	}
	// mkfifo obeys the umask; the container user must be able to open it for writing.
	if err := os.Chmod(fifo, 0o622); err != nil {
		return fail(err)
	}
	files, closeFiles, err := wi.stdio(cfg, &stdin)
	if err != nil {
		return fail(err)
	}
	err = sendHandoff(p.sync, files, cfg.Spec.Root.Path)
	closeFiles()
	if err == nil {
		err = awaitWarmAck(p.syncDec)
	}
	if err != nil {
		// The init died while warm, or cannot take the rootfs: nothing of cfg
		// happened yet, a cold init runs it.
		_ = os.Remove(fifo)
		stdin.close()
		wi.kill()
		return warmReply{}
	}
	p.stateDir, p.stdin = cfg.StateDir, stdin
	renice(p.Pid)
	if cfg.BeforeInit != nil {
		if err := cfg.BeforeInit(p.Pid); err != nil {
			return fail(fmt.Errorf("before init (pid %d): %w", p.Pid, err))
		}
	}
	if err := writeMsg(p.sync, goMessage(cfg.Spec, filter, fifo, false)); err != nil {
		return fail(fmt.Errorf("send spec to init (pid %d): %w", p.Pid, err))
	}
	reply, err := p.awaitMsg(ctx)
	if err != nil {
		return fail(fmt.Errorf("create container (pid %d): %w", p.Pid, err))
	}
	switch {
	case reply.err == io.EOF:
		return fail(fmt.Errorf("%w: pid %d exited during setup", ErrInit, p.Pid))
	case reply.err != nil:
		return fail(reply.err)
	case reply.m.Type == msgError && reply.m.Err != nil:
		return fail(reply.m.Err.toError())
	case reply.m.Type != msgReady:
		return fail(fmt.Errorf("%w: unexpected message %q from pid %d", ErrInit, reply.m.Type, p.Pid))
	}
	return warmReply{p: p, used: true}
}

// stdio returns the files that replace the warm init's fds 0-2 (nil: keep it) and
// points the relays of the ones kept. A Stdin that is not a file goes through a pipe
// fed by a goroutine, as in newChildIO.
func (wi *warmInit) stdio(cfg *Config, stdin **stdinCopy) ([3]*os.File, func(), error) {
	var files [3]*os.File
	var opened []*os.File
	closeAll := func() {
		for _, f := range opened {
			f.Close()
		}
	}
	devNull := func() (*os.File, error) {
		f, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
		if err == nil {
			opened = append(opened, f)
		}
		return f, err
	}
	var err error
	switch in := cfg.Stdin.(type) {
	case nil:
		// the init's stdin is /dev/null already
	case *os.File:
		files[0] = in
	default:
		r, w, perr := os.Pipe()
		if perr != nil {
			return files, closeAll, perr
		}
		opened = append(opened, r)
		files[0] = r
		c := &stdinCopy{w: w}
		*stdin = c
		go func() {
			_, _ = io.Copy(w, in)
			c.close()
		}()
	}
	for i, out := range []io.Writer{cfg.Stdout, cfg.Stderr} {
		rel := []*relay{wi.stdout, wi.stderr}[i]
		switch o := out.(type) {
		case nil:
			if files[i+1], err = devNull(); err != nil {
				return files, closeAll, err
			}
			rel.to(io.Discard)
		case *os.File:
			files[i+1] = o
			rel.to(io.Discard)
		default:
			rel.to(o)
		}
	}
	return files, closeAll, nil
}

// msgWarm is the warm init's answer to the handoff: it holds its stdio and rootfs.
const msgWarm = "warm"

// sendHandoff sends a warm init its stdio and rootfs: a 3-byte header (a bit mask of
// the fds of files that follow as SCM_RIGHTS, then the length of rootfs, little
// endian) carrying the fds and a clone of the rootfs mount (last), then rootfs.
func sendHandoff(sock *os.File, files [3]*os.File, rootfs string) error {
	mnt, err := unix.OpenTree(unix.AT_FDCWD, rootfs, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return &os.PathError{Op: "open_tree", Path: rootfs, Err: err}
	}
	defer unix.Close(mnt)
	var mask byte
	var fds []int
	for i, f := range files {
		if f != nil {
			mask |= 1 << i
			fds = append(fds, int(f.Fd()))
		}
	}
	fds = append(fds, mnt)
	if len(rootfs) > 0xffff {
		return fmt.Errorf("root.path too long")
	}
	msg := append([]byte{mask, byte(len(rootfs)), byte(len(rootfs) >> 8)}, rootfs...)
	rc, err := sock.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Write(func(fd uintptr) bool {
		serr = unix.Sendmsg(int(fd), msg, unix.UnixRights(fds...), nil, unix.MSG_NOSIGNAL)
		return serr != unix.EAGAIN
	}); err != nil {
		return err
	}
	for _, f := range files {
		runtime.KeepAlive(f)
	}
	return serr
}

// awaitWarmAck reads the warm init's answer to sendHandoff.
func awaitWarmAck(dec *json.Decoder) error {
	m, err := readMsg(dec)
	switch {
	case err != nil:
		return err
	case m.Type == msgError && m.Err != nil:
		return m.Err.toError()
	case m.Type != msgWarm:
		return fmt.Errorf("%w: unexpected message %q from a warm init", ErrInit, m.Type)
	}
	return nil
}

// runWarm is a warm init's main: it waits for its stdio (or the end of its parent),
// puts it on fds 0-2 and continues as a container init.
func runWarm(sync *os.File) (int, error) {
	// encoding/json builds its reflection caches of the spec's types at the first
	// decode: build them while nobody waits.
	if b, err := json.Marshal(&syncMsg{Type: msgGo, Spec: DefaultSpec("/", "true")}); err == nil {
		_ = json.Unmarshal(b, new(syncMsg))
	}
	buf := make([]byte, 3)
	oob := make([]byte, unix.CmsgSpace(4*4))
	var n, oobn int
	var err error
	for {
		n, oobn, _, _, err = unix.Recvmsg(initSyncFd, buf, oob, unix.MSG_CMSG_CLOEXEC|unix.MSG_WAITALL)
		if err != unix.EINTR {
			break
		}
	}
	if err == nil && n == 0 {
		os.Exit(0) // closed unused: no error to report, nobody to report it to
	}
	if err != nil || n != len(buf) {
		return 1, fmt.Errorf("warm init: receive stdio: %d bytes, %v", n, err)
	}
	rootfs := make([]byte, int(buf[1])|int(buf[2])<<8)
	if _, err := io.ReadFull(sync, rootfs); err != nil {
		return 1, fmt.Errorf("warm init: receive rootfs: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return 1, fmt.Errorf("warm init: receive stdio: no fds in message (%v)", err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) == 0 {
		return 1, fmt.Errorf("warm init: receive stdio: %v", err)
	}
	mnt := fds[len(fds)-1]
	fds = fds[:len(fds)-1]
	if err := unix.MoveMount(mnt, "", unix.AT_FDCWD, string(rootfs), unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return 1, fmt.Errorf("warm init: %w", &os.PathError{Op: "move_mount", Path: string(rootfs), Err: err})
	}
	_ = unix.Close(mnt)
	for i := range 3 {
		if buf[0]&(1<<i) == 0 {
			continue
		}
		if len(fds) == 0 {
			return 1, fmt.Errorf("warm init: receive stdio: fewer fds than announced")
		}
		if err := unix.Dup3(fds[0], i, 0); err != nil {
			return 1, fmt.Errorf("warm init: dup3 onto fd %d: %w", i, err)
		}
		_ = unix.Close(fds[0])
		fds = fds[1:]
	}
	if err := writeMsg(sync, &syncMsg{Type: msgWarm}); err != nil {
		return 1, err
	}
	return runInit(sync)
}

// hostRoot reports whether this process may raise its threads' priority again after
// lowering it: root of the host's user namespace, with CAP_SYS_NICE.
func hostRoot() bool {
	if os.Geteuid() != 0 {
		return false
	}
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil || len(strings.Fields(string(b))) != 3 || strings.Fields(string(b))[2] != "4294967295" {
		return false
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[0].Effective&(1<<unix.CAP_SYS_NICE) != 0
}

// renice gives every thread of pid priority 0 (nice 0): the threads of a warm init,
// started at 19, when it gets its container.
func renice(pid int) {
	tasks, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	for _, t := range tasks {
		if tid, err := strconv.Atoi(t.Name()); err == nil {
			_ = unix.Setpriority(unix.PRIO_PROCESS, tid, 0)
		}
	}
}

// relay is an io.Writer whose destination is set later; writes wait for it.
type relay struct {
	once sync.Once
	set  chan struct{}
	dst  io.Writer
}

func newRelay() *relay { return &relay{set: make(chan struct{})} }

// to sets the destination (once; later calls do nothing).
func (r *relay) to(w io.Writer) {
	r.once.Do(func() { r.dst = w; close(r.set) })
}

func (r *relay) Write(b []byte) (int, error) {
	<-r.set
	return r.dst.Write(b)
}
