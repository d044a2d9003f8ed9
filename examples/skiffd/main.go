// Command skiffd serves a subset of the Docker Engine API (v1.50) on a unix socket over
// one Skiff engine root, so the real docker CLI drives Skiff:
//
//	skiffd [-H unix:///run/skiff/docker.sock] [--root /var/lib/skiff]
//	DOCKER_HOST=unix:///run/skiff/docker.sock docker run --rm busybox echo hi
//
// Each handler is a few library calls. Every container runs detached (under its
// monitor, logging to its JSON log), so skiffd can stop and start again without
// killing them; one with an open stdin or a terminal (docker run -i / -t) is reached
// through its attach socket (Container.Attach, see streams.go), also after a restart
// of skiffd. docker build needs the classic builder: DOCKER_BUILDKIT=0.
//
// The socket is created with mode 0660 (root-owned); skiffd never listens on TCP.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/namespace"
)

// DefaultSocket is where skiffd listens when -H is not given.
const DefaultSocket = "/run/skiff/docker.sock"

func main() {
	skiff.Init() // first: in a container's init or monitor this never returns
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("skiffd", flag.ContinueOnError)
	host := DefaultSocket
	fs.Func("host", "unix socket to listen on (unix:///path or /path)", func(s string) error { host = s; return nil })
	fs.Func("H", "shorthand for --host", func(s string) error { host = s; return nil })
	root := fs.String("root", skiff.DefaultRoot, "engine state root")
	table := fs.String("nft-table", "skiff", "nftables table of the engine's networks")
	bridge := fs.String("bridge", "skiff0", "bridge device of the default network")
	cgParent := fs.String("cgroup-parent", "skiff", "cgroup under which containers' cgroups are made")
	debug := fs.Bool("debug", false, "log every request")
	initBinary := fs.String("init-binary", "", "program containers' inits and exec helpers run from (default: skiff-nsinit beside skiffd, if there is one, else skiffd itself)")
	warm := fs.Bool("warm", true, "keep a container init and a monitor started ahead, so that creating a container starts no process")
	var insecure stringList
	fs.Var(&insecure, "insecure-registry", "allow plain HTTP to this registry host[:port] (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if *initBinary != "" {
		if err := namespace.SetInitBinary(*initBinary); err != nil {
			log.Error("--init-binary", "err", err)
			return 2
		}
	} else if _, err := namespace.UseInitBinaryBeside("skiff-nsinit"); err != nil {
		log.Error("init binary", "err", err)
		return 1
	}
	if p := namespace.InitBinary(); p != "" {
		log.Info("containers' inits run from", "path", p)
	}

	opts := []skiff.Option{skiff.WithRoot(*root), skiff.WithLogger(log),
		skiff.WithInsecureRegistries(insecure...), skiff.WithNetworkNames(*table, *bridge), skiff.WithCgroupParent(*cgParent)}
	if *warm {
		opts = append(opts, skiff.WithWarmInit())
	}
	e, err := skiff.New(opts...)
	if err != nil {
		log.Error("engine", "err", err)
		return 1
	}
	defer e.Close() // the processes started ahead; containers stay
	path := strings.TrimPrefix(host, "unix://")
	if !filepath.IsAbs(path) {
		log.Error("--host must be an absolute unix socket path", "host", host)
		return 2
	}
	l, err := listen(path)
	if err != nil {
		log.Error("listen", "err", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	d, err := newDaemon(ctx, e, log, insecure)
	if err != nil {
		log.Error("daemon", "err", err)
		return 1
	}
	srv := &http.Server{Handler: d.handler(), BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() { <-ctx.Done(); srv.Close() }()
	log.Info("skiffd listening", "socket", path, "root", e.Root())
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("serve", "err", err)
		return 1
	}
	os.Remove(path)
	return 0
}

// listen creates the unix socket at path, mode 0660, replacing a stale one.
func listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return nil, fmt.Errorf("socket %s: another daemon is listening", path)
	}
	os.Remove(path)
	old := syscall.Umask(0o117)
	l, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o660); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
