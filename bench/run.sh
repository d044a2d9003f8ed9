#!/usr/bin/env bash
# Start latency: time start→exit of /bin/true on one busybox rootfs for
#   skiff run --rm (image already in the store), runc run and crun run,
# exec latency: time of /bin/true exec'd into a running container for
#   skiff exec, runc exec and crun exec,
# N runs each in one run of this script; prints medians and the Skiff/runc and
# Skiff/crun ratios. The library's Create+Start+Wait of /bin/true, cold and with a
# warm init (skiff.WithWarmInit: the init started ahead), is the root package's
# BenchmarkCreateStartWait, also against crun. Then the memory of the process that stays with a detached
# container: skiff's monitor (run -d) against conmon (the monitor podman uses, here
# driving runc directly), as RSS and PSS (shared pages divided among their users),
# with the ratios, and an empty Go program (which only sleeps) as the floor of any Go
# process. Skiff's init, exec helper and waiting monitor run from skiff-nsinit, built
# beside skiff (a small program: namespace.SetInitBinary); each figure is also given
# for skiff alone, where all of them are skiff re-executed. The time from each
# binary's start to main (GODEBUG=inittrace=1) is printed beside the empty program's,
# as is what its package inits cost.
# Root only. Usage: bench/run.sh [N]   (default 30)
#
# On this hybrid-cgroup host crun only runs when /sys/fs/cgroup/unified is not
# mounted, so the whole script re-executes itself in a private mount namespace with it
# unmounted, and all three runtimes are measured there alike.
set -euo pipefail
[ -n "${SKIFF_BENCH_TRACE:-}" ] && set -x
N=${1:-30}
here=$(cd "$(dirname "$0")/.." && pwd)

if [ -z "${SKIFF_BENCH_NS:-}" ]; then
	export SKIFF_BENCH_NS=1
	exec unshare -m --propagation private bash -c 'umount /sys/fs/cgroup/unified 2>/dev/null || true; exec "$0" "$@"' "$0" "$@"
fi

for b in runc crun busybox; do
	command -v $b >/dev/null || { echo "bench/run.sh: $b missing (apt-get install runc crun busybox-static)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/skiff-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
# skiff with skiff-nsinit beside it (as installed: inits, exec helpers and waiting
# monitors run from the small program), and the same skiff alone in self/ (all of them
# are skiff re-executed).
mkdir -p "$work/self"
(cd "$here" && CGO_ENABLED=0 go build -o "$work/skiff" ./examples/skiff && CGO_ENABLED=0 go build -o "$work/skiff-nsinit" ./examples/skiff-nsinit &&
	cp "$work/skiff" "$work/self/skiff" && CGO_ENABLED=0 go test -c -o "$work/skiff.test" .)
# The floor of a Go process: a static program that only sleeps.
mkdir -p "$work/gofloor"
printf 'module gofloor\n\ngo 1.22\n' >"$work/gofloor/go.mod"
printf 'package main\n\nimport (\n\t"os"\n\t"time"\n)\n\nfunc main() {\n\tif len(os.Args) == 1 {\n\t\ttime.Sleep(time.Hour)\n\t}\n}\n' >"$work/gofloor/main.go"
(cd "$work/gofloor" && CGO_ENABLED=0 GOFLAGS= go build -o "$work/gofloor/gofloor" .)

# One busybox rootfs for everyone.
bundle=$work/bundle
mkdir -p "$bundle/rootfs/bin" "$bundle/rootfs/proc" "$bundle/rootfs/dev" "$bundle/rootfs/sys" "$bundle/rootfs/tmp"
cp "$(command -v busybox)" "$bundle/rootfs/bin/busybox"
for a in sh true echo sleep; do ln -s busybox "$bundle/rootfs/bin/$a"; done
(cd "$bundle" && runc spec && sed -i 's/"terminal": true/"terminal": false/; s/"sh"$/"\/bin\/true"/' config.json)

root=$work/root
tar -C "$bundle/rootfs" -cf - . | "$work/skiff" --root "$root" import - bench/busybox:latest >/dev/null

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m/1e6}'; }
measure() { # name, command...
	local name=$1; shift
	"$@" >/dev/null 2>&1 || { echo "bench/run.sh: $name failed: $*" >&2; "$@"; exit 1; }
	for i in $(seq "$N"); do
		local t0; t0=$(now); "$@" >/dev/null 2>&1; echo $(( $(now) - t0 ))
	done | median
}

skiff_ms=$(measure skiff "$work/skiff" --root "$root" run --rm --network none bench/busybox:latest /bin/true)
self_ms=$(measure "skiff (self)" "$work/self/skiff" --root "$root" run --rm --network none bench/busybox:latest /bin/true)
runc_ms=$(measure runc runc --root "$work/runc-state" run --bundle "$bundle" "skiff-bench-runc-$$")
crun_ms=$(measure crun crun --root "$work/crun-state" run --bundle "$bundle" "skiff-bench-crun-$$")

printf 'start→exit of /bin/true, median of %d runs (ms)\n' "$N"
printf '  skiff run --rm  %8s\n  (no nsinit)     %8s\n  runc run        %8s\n  crun run        %8s\n' "$skiff_ms" "$self_ms" "$runc_ms" "$crun_ms"
awk -v s="$skiff_ms" -v n="$self_ms" -v r="$runc_ms" -v c="$crun_ms" 'BEGIN { printf "  skiff/runc      %8.2f\n  skiff/crun      %8.2f\n  no nsinit/crun  %8.2f\n", s/r, s/c, n/c }'

# The library in a long-lived program: Engine.Create+Start+Wait (no Delete), cold and
# with WithWarmInit (mean of N; the refill between runs is not timed).
lib=$("$work/skiff.test" -test.run '^$' -test.bench '^BenchmarkCreateStartWait$' -test.benchtime "${N}x" 2>&1) ||
	{ echo "bench/run.sh: BenchmarkCreateStartWait failed:" >&2; echo "$lib" >&2; exit 1; }
cold_ms=$(awk '$1 ~ /CreateStartWait\/cold/ { printf "%.1f", $3/1e6 }' <<<"$lib")
warm_ms=$(awk '$1 ~ /CreateStartWait\/warm/ { printf "%.1f", $3/1e6 }' <<<"$lib")
printf 'library Create+Start+Wait of /bin/true, mean of %d runs (ms)\n' "$N"
printf '  cold            %8s\n  warm init       %8s\n' "$cold_ms" "$warm_ms"
awk -v c="$cold_ms" -v w="$warm_ms" -v k="$crun_ms" 'BEGIN { printf "  warm/cold       %8.2f\n  cold/crun       %8.2f\n  warm/crun       %8.2f\n", w/c, c/k, w/k }'

# Start of the re-executed binary: runtime start → main, from GODEBUG=inittrace=1 (the
# "@" of the last package init), and the sum of all package inits' clock time and allocations.
inittrace() { # command...: prints "ms-to-main inits-ms bytes allocs packages", times as medians of N runs
	local i out=$work/inittrace.txt
	for i in $(seq "$N"); do
		{ GODEBUG=inittrace=1 "$@" 2>&1 >/dev/null || true; } | awk '$1 == "init" { n++; c += $5; b += $8; a += $10; at = substr($3, 2) }
			END { printf "%s %s %d %d %d\n", at, c, b, a, n }'
	done >"$out"
	printf '%s %s %s\n' "$(cut -d' ' -f1 "$out" | median1)" "$(cut -d' ' -f2 "$out" | median1)" "$(tail -1 "$out" | cut -d' ' -f3-)"
}
median1() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m}'; }
read -r s_main s_clock s_bytes s_allocs s_pkgs <<<"$(inittrace "$work/skiff" --help)"
read -r n_main n_clock n_bytes n_allocs n_pkgs <<<"$(inittrace "$work/skiff-nsinit")"
read -r f_main f_clock f_bytes f_allocs f_pkgs <<<"$(inittrace "$work/gofloor/gofloor" exit)"
printf 're-executed binary: process start → main (GODEBUG=inittrace=1), median of %d runs\n' "$N"
printf '                  %8s %8s %9s %7s %5s\n' "→main ms" "inits ms" "bytes" allocs pkgs
printf '  skiff           %8s %8s %9s %7s %5s\n' "$s_main" "$s_clock" "$s_bytes" "$s_allocs" "$s_pkgs"
printf '  skiff-nsinit    %8s %8s %9s %7s %5s\n' "$n_main" "$n_clock" "$n_bytes" "$n_allocs" "$n_pkgs"
printf '  empty Go        %8s %8s %9s %7s %5s\n' "$f_main" "$f_clock" "$f_bytes" "$f_allocs" "$f_pkgs"
printf '  skiff: Skiff'"'"'s own packages: %s\n' "$(GODEBUG=inittrace=1 "$work/skiff" --help 2>&1 >/dev/null |
	awk '$1 == "init" && $2 ~ /^github.com\/skiffrt\/skiff/ { b += $8; a += $10; n++ } END { printf "%d bytes, %d allocs in %d packages", b, a, n }')"

# Exec latency: one long-running container per runtime, /bin/true exec'd into it.
sleeper=$work/sleeper
mkdir -p "$sleeper"
sed 's|"/bin/true"|"sleep", "1000"|; s|"path": "rootfs"|"path": "'"$bundle"'/rootfs"|' "$bundle/config.json" >"$sleeper/config.json"
sid=$("$work/skiff" --root "$root" run -d --network none bench/busybox:latest sleep 1000)
runc --root "$work/runc-state" run -d --bundle "$sleeper" skiff-bench-runc-exec-$$ </dev/null >/dev/null 2>&1
crun --root "$work/crun-state" run -d --bundle "$sleeper" skiff-bench-crun-exec-$$ </dev/null >/dev/null 2>&1
cleanup_exec() {
	"$work/skiff" --root "$root" rm -f "$sid" ${mid:-} >/dev/null 2>&1 || true
	runc --root "$work/runc-state" delete -f skiff-bench-runc-exec-$$ >/dev/null 2>&1 || true
	crun --root "$work/crun-state" delete -f skiff-bench-crun-exec-$$ >/dev/null 2>&1 || true
}
trap 'cleanup_exec; rm -rf "$work"' EXIT
skiff_exec_ms=$(measure "skiff exec" "$work/skiff" --root "$root" exec "$sid" /bin/true)
self_exec_ms=$(measure "skiff exec (self)" "$work/self/skiff" --root "$root" exec "$sid" /bin/true)
runc_exec_ms=$(measure "runc exec" runc --root "$work/runc-state" exec skiff-bench-runc-exec-$$ /bin/true)
crun_exec_ms=$(measure "crun exec" crun --root "$work/crun-state" exec skiff-bench-crun-exec-$$ /bin/true)
printf 'exec of /bin/true into a running container, median of %d runs (ms)\n' "$N"
printf '  skiff exec      %8s\n  (no nsinit)     %8s\n  runc exec       %8s\n  crun exec       %8s\n' "$skiff_exec_ms" "$self_exec_ms" "$runc_exec_ms" "$crun_exec_ms"
awk -v s="$skiff_exec_ms" -v n="$self_exec_ms" -v r="$runc_exec_ms" -v c="$crun_exec_ms" 'BEGIN { printf "  skiff/runc      %8.2f\n  skiff/crun      %8.2f\n  no nsinit/crun  %8.2f\n", s/r, s/c, n/c }'

# Monitor memory: skiff's monitor of the running detached container against conmon
# monitoring a runc container (conmon daemonizes; runc create, then start).
kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/${3:-status}"; }
# A container of its own, started now, alone (the exec container removed): its monitor
# gives back the pages of the binary a second after the start, which it cannot for
# pages other processes (the execs above, another monitor) map too. PSS is what each of
# many monitors costs; RSS is the cost of one.
"$work/skiff" --root "$root" rm -f "$sid" >/dev/null
mid=$("$work/skiff" --root "$root" run -d --network none bench/busybox:latest sleep 1000)
mpid=$(pgrep -f "^skiff-monitor ${mid:0:12}")
# The same without skiff-nsinit: the monitor waits as skiff re-executed.
mid2=$("$work/self/skiff" --root "$root" run -d --network none bench/busybox:latest sleep 1000)
mpid2=$(pgrep -f "^skiff-monitor ${mid2:0:12}")
mid="$mid $mid2"
if command -v conmon >/dev/null; then
	cm=$work/conmon
	mkdir -p "$cm/exit" "$cm/sock"
	conmon --api-version 1 -c skiff-bench-conmon-$$ -u skiff-bench-conmon-$$ -n skiff-bench-conmon -r "$(command -v runc)" \
		-b "$sleeper" -p "$cm/pid" -l "k8s-file:$cm/ctr.log" --exit-dir "$cm/exit" --socket-dir-path "$cm/sock" \
		--conmon-pidfile "$cm/conmon.pid" --runtime-arg --root --runtime-arg "$work/runc-state" >/dev/null 2>&1
	for i in $(seq 50); do [ -s "$cm/pid" ] && break; sleep 0.05; done
	runc --root "$work/runc-state" start skiff-bench-conmon-$$
	sleep 0.3
	cpid=$(cat "$cm/conmon.pid")
	trap 'cleanup_exec; runc --root "$work/runc-state" delete -f skiff-bench-conmon-$$ >/dev/null 2>&1; rm -rf "$work"' EXIT
fi
GOMAXPROCS=1 "$work/gofloor/gofloor" &
fpid=$!
trap 'kill $fpid 2>/dev/null; cleanup_exec; runc --root "$work/runc-state" delete -f skiff-bench-conmon-$$ >/dev/null 2>&1; rm -rf "$work"' EXIT
sleep 1.5 # let all settle after start (the monitor gives memory back 1 s after the container starts)
printf 'memory of the monitor of a running detached container (KiB)\n'
printf '                  %8s %8s %8s %8s\n' RSS PSS RssAnon RssFile
printf '  skiff-monitor   %8s %8s %8s %8s\n' "$(kb "$mpid" VmRSS)" "$(kb "$mpid" Pss smaps_rollup)" "$(kb "$mpid" RssAnon)" "$(kb "$mpid" RssFile)"
printf '  (no nsinit)     %8s %8s %8s %8s\n' "$(kb "$mpid2" VmRSS)" "$(kb "$mpid2" Pss smaps_rollup)" "$(kb "$mpid2" RssAnon)" "$(kb "$mpid2" RssFile)"
if [ -n "${cpid:-}" ]; then
	printf '  conmon          %8s %8s %8s %8s\n' "$(kb "$cpid" VmRSS)" "$(kb "$cpid" Pss smaps_rollup)" "$(kb "$cpid" RssAnon)" "$(kb "$cpid" RssFile)"
else
	echo "  conmon: not installed (apt-get install conmon)"
fi
printf '  empty Go        %8s %8s %8s %8s\n' "$(kb "$fpid" VmRSS)" "$(kb "$fpid" Pss smaps_rollup)" "$(kb "$fpid" RssAnon)" "$(kb "$fpid" RssFile)"
if [ -n "${cpid:-}" ]; then
	awk -v sr="$(kb "$mpid" VmRSS)" -v sp="$(kb "$mpid" Pss smaps_rollup)" -v cr="$(kb "$cpid" VmRSS)" -v cp="$(kb "$cpid" Pss smaps_rollup)" \
		-v fr="$(kb "$fpid" VmRSS)" -v fp="$(kb "$fpid" Pss smaps_rollup)" \
		-v nr="$(kb "$mpid2" VmRSS)" -v np="$(kb "$mpid2" Pss smaps_rollup)" \
		'BEGIN { printf "  skiff/conmon    %8.2f %8.2f\n  no nsinit/conmon %7.2f %8.2f\n  empty Go/conmon %8.2f %8.2f\n", sr/cr, sp/cp, nr/cr, np/cp, fr/cr, fp/cp }'
fi
