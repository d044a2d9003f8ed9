#!/usr/bin/env bash
# Soak and fault run of the skiff CLI on a root of its own, with figures and a leak report.
#
# Phases (counts from flags or environment; defaults in brackets, --short in braces):
#   cycles      create / start -a / rm of one container on the default bridge  [1000] {100}
#   concurrent  `run --rm` started at once on the default bridge               [50]   {5}
#   detached    `run -d -p 127.0.0.1::80` busybox httpd on a user network, each port
#               answered on 127.0.0.1, then all removed with the network       [20]   {5}
#   kills       kill -9 of the CLI at a random point of pull, build, run and rm
#               (uniform in [0, one undisturbed run's duration]); the next same
#               operation must succeed                                          [20 each] {5}
#   enospc      a root on a 64 MiB tmpfs, filled (a filler file leaves too little room)
#               during a pull: the pull must fail naming ENOSPC and a path on that root,
#               the store must be as it was, and after the filler is removed the same
#               pull must succeed
# Then it prints operations, failures and time per phase, and the leaks: mounts under
# the work dir, cgroups under the run's cgroup parent, veths on the root's bridges and the
# user network's bridge, rules of the root's nftables table beyond the baseline, files
# under the root beyond the images (and anything in containers/), processes of the CLI
# binary left running and fds into the root, and `skiff system check` (without --repair).
# It exits 1 on any failed operation, leak or lost image.
#
# Root only; needs docker-registry, busybox (busybox-static: its wget and httpd), ip,
# findmnt and python3. nftables rules are counted by bench/internal/nftrules.
# Not part of ./scripts/test; bench/soak_test.go runs --short in `go test ./bench`.
#
# Usage: bench/soak.sh [--short] [--cycles N] [--concurrent N] [--detached N] [--kills N]
# Env:   SOAK_CYCLES SOAK_CONCURRENT SOAK_DETACHED SOAK_KILLS (flags win),
#        SOAK_SKIFF=path of a prebuilt CLI (default: built here with CGO_ENABLED=0),
#        SOAK_TRACE=1 for set -x.
set -euo pipefail
[ -n "${SOAK_TRACE:-}" ] && set -x
here=$(cd "$(dirname "$0")/.." && pwd)

cycles=${SOAK_CYCLES:-1000} concurrent=${SOAK_CONCURRENT:-50} detached=${SOAK_DETACHED:-20} kills=${SOAK_KILLS:-20}
while [ $# -gt 0 ]; do
	case $1 in
	--short) cycles=100 concurrent=5 detached=5 kills=5 ;;
	--cycles) cycles=$2; shift ;;
	--concurrent) concurrent=$2; shift ;;
	--detached) detached=$2; shift ;;
	--kills) kills=$2; shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench/soak.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

[ "$(id -u)" = 0 ] || { echo "bench/soak.sh: must run as root" >&2; exit 2; }
for b in docker-registry busybox ip python3 findmnt; do
	command -v $b >/dev/null || { echo "bench/soak.sh: $b missing (apt-get install docker-registry busybox-static iproute2 python3 util-linux)" >&2; exit 2; }
done

tag=soak$$
work=$(mktemp -d /var/tmp/skiff-soak.XXXXXX)
root=$work/root
cgparent=skiff-$tag
net=$tag
log=$work/failures.log
: >"$log"
reg_pid=

now() { date +%s%N; }
ms_since() { echo $((($(now) - $1) / 1000000)); }

cleanup() {
	set +e
	# Whatever a failed run left: containers, networks, the small root's mount.
	if [ -x "${skiff:-}" ] && [ -d "$root" ]; then
		ids=$("$skiff" --root "$root" ps -aq 2>/dev/null)
		[ -n "$ids" ] && "$skiff" --root "$root" rm -f $ids >/dev/null 2>&1
		"$skiff" --root "$root" network rm "$net" >/dev/null 2>&1
	fi
	[ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null && wait "$reg_pid" 2>/dev/null
	for m in $(findmnt -rn -o TARGET | grep "^$work" | sort -r); do umount -l "$m"; done
	# The root's default network (bridge and table) outlives its containers, as Docker's.
	[ -n "${table:-}" ] && "$work/nftrules" -d "$table" 2>/dev/null
	[ -n "${bridge:-}" ] && ip link del "$bridge" 2>/dev/null
	# and its claims of those names (stale once the root is gone, but tidier gone).
	grep -lx "$root/network" /run/skiff/netbridge/table-* /run/skiff/netbridge/bridge-* 2>/dev/null | xargs -r rm -f
	for d in /sys/fs/cgroup/*/"$cgparent" /sys/fs/cgroup/unified/"$cgparent"; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- counters ---------------------------------------------------------------------------
declare -A OPS FAILS MS
phases=()
phase_start() { phase=$1; phases+=("$1"); OPS[$1]=0; FAILS[$1]=0; t_phase=$(now); echo "soak: $1..." >&2; }
phase_end() { MS[$phase]=$(ms_since "$t_phase"); }
# ok CMD...: runs CMD, counts it, leaves its stdout in $last; a failure is logged with
# its output.
ok() {
	OPS[$phase]=$((OPS[$phase] + 1))
	if last=$("$@" 2>"$work/stderr"); then
		return 0
	fi
	FAILS[$phase]=$((FAILS[$phase] + 1))
	printf '[%s] %s\n%s\n%s\n' "$phase" "$*" "$last" "$(cat "$work/stderr")" >>"$log"
	return 1
}
fail() { # phase message: a failed check that is not a command
	FAILS[$phase]=$((FAILS[$phase] + 1))
	printf '[%s] %s\n' "$phase" "$*" >>"$log"
}

# --- the CLI, a registry, the images ----------------------------------------------------
if [ -n "${SOAK_SKIFF:-}" ]; then
	skiff=$SOAK_SKIFF
else
	skiff=$work/skiff
	(cd "$here" && CGO_ENABLED=0 go build -o "$skiff" ./examples/skiff)
fi
(cd "$here" && go build -o "$work/nftrules" ./bench/internal/nftrules)
S() { "$skiff" --root "$root" --cgroup-parent "$cgparent" "$@"; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
reg=127.0.0.1:$port
cat >"$work/registry.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/registry}, delete: {enabled: true}}
http: {addr: $reg, secret: $tag}
YML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
reg_pid=$!
get() { timeout 3 busybox wget -q -O - "$1"; } # (its -T crashes the static busybox of Debian 12)
for _ in $(seq 100); do get "http://$reg/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
get "http://$reg/v2/" >/dev/null || { echo "bench/soak.sh: registry did not start:" >&2; cat "$work/registry.log" >&2; exit 1; }

# busybox, and two images on top of it with a layer of random bytes (incompressible):
# mid (8 MiB, for the pulls that get killed) and big (24 MiB, for the full disk).
bb=$work/ctx/busybox
mkdir -p "$bb/rootfs/bin" "$bb/rootfs/tmp" "$bb/rootfs/etc"
cp "$(command -v busybox)" "$bb/rootfs/bin/busybox"
for a in $(busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$bb/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$bb/rootfs/etc/passwd"
echo 'root:x:0:' >"$bb/rootfs/etc/group"
chmod 1777 "$bb/rootfs/tmp"
printf 'FROM scratch\nCOPY rootfs/ /\nENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nCMD ["sh"]\n' >"$bb/Dockerfile"
img=$reg/soak/busybox:latest
seed() { "$skiff" --root "$work/seed" --cgroup-parent "$cgparent" "$@"; }
seed build -q --push -t "$img" "$bb" >/dev/null
for spec in mid:8 big:24; do
	n=${spec%%:*} mb=${spec#*:}
	mkdir -p "$work/ctx/$n"
	head -c "${mb}M" /dev/urandom >"$work/ctx/$n/blob"
	printf 'FROM %s\nCOPY blob /%s.bin\n' "$img" "$n" >"$work/ctx/$n/Dockerfile"
	seed build -q --push -t "$reg/soak/$n:latest" "$work/ctx/$n" >/dev/null
done
rm -rf "$work/seed"
mid=$reg/soak/mid:latest big=$reg/soak/big:latest

# --- baseline ---------------------------------------------------------------------------
S pull -q "$img" >/dev/null
S run --rm "$img" true # makes the default network: its bridge and table are the baseline
table=$(basename "$(grep -lx "$root/network" /run/skiff/netbridge/table-* 2>/dev/null | head -1)" | sed 's/^table-//')
bridge=$(basename "$(grep -lx "$root/network" /run/skiff/netbridge/bridge-* 2>/dev/null | head -1)" | sed 's/^bridge-//')
[ -n "$table" ] && [ -n "$bridge" ] || { echo "bench/soak.sh: no claim of $root/network under /run/skiff/netbridge" >&2; exit 1; }
nft_rules() { "$work/nftrules" "$1"; }
base_rules=$(nft_rules "$table")
# Paths outside images/, layers/ and the event journal, as after the baseline.
other_files() { (cd "$root" && find . -mindepth 1 -not -path './images*' -not -path './layers*' -not -path './events*' -not -path './build-cache*' | sort); }
other_files >"$work/files.before"
images() { S images --no-trunc | awk 'NR > 1 { print $1 ":" $2, $3 }' | sort; }
images >"$work/images.before"

# --- phase: cycles ------------------------------------------------------------------------
phase_start cycles
for i in $(seq "$cycles"); do
	ok S create "$img" true || continue
	id=$last
	ok S start -a "$id" || true
	ok S rm "$id" || ok S rm -f "$id" || true
done
phase_end

# --- phase: concurrent run --rm -------------------------------------------------------------
phase_start concurrent
pids=()
for i in $(seq "$concurrent"); do
	S run --rm "$img" sh -c "echo ok-$i" >"$work/conc.$i.out" 2>&1 &
	pids+=($!)
done
for i in $(seq "$concurrent"); do
	OPS[$phase]=$((OPS[$phase] + 1))
	if ! wait "${pids[$((i - 1))]}" || [ "$(cat "$work/conc.$i.out")" != "ok-$i" ]; then
		fail "run --rm #$i: $(cat "$work/conc.$i.out")"
	fi
done
phase_end

# --- phase: detached containers with published ports on a user network ---------------------
phase_start detached
subnet=
for _ in $(seq 50); do
	s="10.$((RANDOM % 40 + 200)).$((RANDOM % 256)).0/24"
	ip route show to match "${s%/24}" | grep -qv '^default' || { subnet=$s; break; }
done
ok S network create --subnet "$subnet" "$net" || true
netbr=$(S network inspect -f '{{index .Options "com.docker.network.bridge.name"}}' "$net" 2>/dev/null || true)
dids=() dports=()
for i in $(seq "$detached"); do
	if ok S run -d --network "$net" -p 127.0.0.1::80 "$img" sh -c "mkdir -p /w && echo hi-$i >/w/index.html && exec httpd -f -p 80 -h /w"; then
		dids+=("$last")
	fi
done
for i in "${!dids[@]}"; do
	OPS[$phase]=$((OPS[$phase] + 1))
	p=$(S port "${dids[$i]}" 80 2>/dev/null | head -1 | sed 's/.*://' || true)
	dports+=("$p")
	got=
	for _ in $(seq 150); do # up to 15 s on a loaded machine
		got=$(get "http://127.0.0.1:$p/" 2>/dev/null) && break
		sleep 0.1
	done
	[ "$got" = "hi-$((i + 1))" ] || fail "port $p of ${dids[$i]}: got '$got'"
done
# The monitors' fds: counted once every port answered and again after a second round of
# requests; the two counts must be equal.
monitor_fds() {
	local pid total=0 n=0
	for pid in $(pgrep -f "^skiff-monitor" || true); do
		[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$skiff" ] || continue
		grep -qz -- "$root" "/proc/$pid/environ" 2>/dev/null || grep -q -- "$root" "/proc/$pid/cmdline" 2>/dev/null || true
		total=$((total + $(ls "/proc/$pid/fd" 2>/dev/null | wc -l))) n=$((n + 1))
	done
	echo "$n $total"
}
read -r mon_n mon_fds1 <<<"$(monitor_fds)"
live_rules=$(nft_rules "$table") # the published ports' rules, while they are up
for p in "${dports[@]}"; do get "http://127.0.0.1:$p/" >/dev/null 2>&1 || true; done
read -r _ mon_fds2 <<<"$(monitor_fds)"
[ "$mon_fds1" = "$mon_fds2" ] || fail "monitor fds grew: $mon_fds1 -> $mon_fds2"
[ "${#dids[@]}" -gt 0 ] && { ok S rm -f "${dids[@]}" || true; }
ok S network rm "$net" || true
phase_end

# --- phase: kill -9 at random points -----------------------------------------------------------
# killop NAME BASE_MS ARGS...: starts the CLI with ARGS (the binary itself, not through a
# shell function, so the pid is the CLI's), kills it with SIGKILL after a random delay in
# [0, BASE_MS] ms, and reaps it. KILLED[NAME] counts the kills that found it still
# running (the others came after it had finished).
declare -A KILLED
killop() {
	local name=$1 base=$2; shift 2
	local d=$((RANDOM * 32768 + RANDOM))
	d=$((d % (base + 1)))
	"$skiff" --root "$root" --cgroup-parent "$cgparent" "$@" >/dev/null 2>&1 &
	local pid=$!
	sleep "$((d / 1000)).$(printf '%03d' $((d % 1000)))"
	local state
	state=$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null || true)
	if kill -9 "$pid" 2>/dev/null && [ -n "$state" ] && [ "$state" != Z ]; then
		KILLED[$name]=$((${KILLED[$name]:-0} + 1))
	fi
	wait "$pid" 2>/dev/null || true
}
timed() { local t0; t0=$(now); "$@" >/dev/null 2>&1; ms_since "$t0"; }

phase_start kills
ctx=$work/ctx/build
mkdir -p "$ctx"
seq 1 20000 >"$ctx/data.txt"
printf 'FROM %s\nARG N=0\nRUN echo "$N" >/n && sleep 0.1\nCOPY data.txt /data.txt\nRUN wc -l /data.txt >/lines\n' "$img" >"$ctx/Dockerfile"
S rmi -f "$mid" >/dev/null 2>&1 || true
t_pull=$(timed S pull -q "$mid")
t_build=$(timed S build -q -t "soak/built:latest" --build-arg N=base "$ctx")
# run and rm: the median of three (the first of a kind is the slowest).
median3() { sort -n | sed -n 2p; }
t_run=$(for _ in 1 2 3; do timed S run --rm "$img" sh -c 'sleep 0.2; echo ok'; done | median3)
t_rm=$(for _ in 1 2 3; do cid=$(S run -d "$img" sleep 600); timed S rm -f "$cid"; done | median3)
for k in $(seq "$kills"); do
	S rmi -f "$mid" >/dev/null 2>&1 || true
	killop pull "$t_pull" pull -q "$mid"
	ok S pull -q "$mid" || true
done
for k in $(seq "$kills"); do
	killop build "$t_build" build -q -t soak/built:latest --build-arg "N=$tag-$k" "$ctx"
	ok S build -q -t soak/built:latest --build-arg "N=$tag-$k-again" "$ctx" || true
done
for k in $(seq "$kills"); do
	killop run "$t_run" run --rm "$img" sh -c 'sleep 0.2; echo ok'
	ok S run --rm "$img" sh -c 'echo ok' || true
done
rm_vanished=0 # listed by ps after the killed rm, gone by the next rm
listed() { local ids; ids=$(S ps -aq --no-trunc) && grep -q "^$1" <<<"$ids"; }
for k in $(seq "$kills"); do
	if ok S run -d "$img" sleep 600; then
		cid=$last
		killop rm "$t_rm" rm -f "$cid"
		# The next rm removes what is left, or finds the container gone: the killed rm
		# may have got far enough that its monitor finishes the removal meanwhile.
		OPS[$phase]=$((OPS[$phase] + 1))
		# ps's whole output first: grep -q may stop reading early, and with pipefail a
		# ps that could not finish writing would fail the test.
		if listed "$cid" && ! S rm -f "$cid" >/dev/null 2>"$work/stderr"; then
			if ! grep -q 'No such container' "$work/stderr" || listed "$cid"; then
				fail "rm -f $cid after a killed rm: $(cat "$work/stderr")"
			else
				rm_vanished=$((rm_vanished + 1))
			fi
		fi
	fi
done
# A killed `run --rm` leaves its container to the next pull, build or prune (Engine.heal);
# so does a killed rm: what Check sees before any of them runs is a figure, not a failure.
if kcheck=$(S system check 2>&1); then kcheck=clean; else kcheck=$(echo "$kcheck" | grep -vc '^images:\|^not clean' || true); kcheck="$kcheck findings"; fi
# The images made here go, as a user's `rmi` would.
ok S rmi -f "$mid" soak/built:latest || true
ok S image prune -f || true
phase_end

# --- phase: a full disk during a pull ------------------------------------------------------------
phase_start enospc
small=$work/small
mkdir -p "$small"
mount -t tmpfs -o size=64m "soak-$tag" "$small"
sroot=$small/root
SS() { "$skiff" --root "$sroot" --cgroup-parent "$cgparent" "$@"; }
ok SS pull -q "$img" || true
# The store's files and dirs; not the event journal, nor the layer store's lock files
# (a failed unpack may leave its layer's lock file to the next Check or removal).
listing() { (cd "$sroot" && find . -path ./events -prune -o -path ./layers/layers/locks -prune -o -printf '%y %s %p\n' | grep -v '^d [0-9]* \.$' | sort); }
listing >"$work/small.before"
# Leave 36 MiB: the 24 MiB layer's blob and its unpacked copy need 48.
free_kb=$(df -k --output=avail "$small" | tail -1)
fill_kb=$((free_kb - 36 * 1024))
head -c "$((fill_kb * 1024))" /dev/zero >"$small/filler" 2>/dev/null || true
OPS[$phase]=$((OPS[$phase] + 1))
if SS pull -q "$big" >"$work/enospc.out" 2>&1; then
	fail "pull on a full file system succeeded"
else
	enospc_err=$(tail -1 "$work/enospc.out")
	grep -q 'no space left on device' "$work/enospc.out" || fail "pull error does not name ENOSPC: $enospc_err"
	grep -q -- "$sroot/" "$work/enospc.out" || fail "pull error names no path under $sroot: $enospc_err"
fi
listing >"$work/small.after"
diff -u "$work/small.before" "$work/small.after" >"$work/small.diff" || fail "the full disk changed the store: $(cat "$work/small.diff")"
ok SS system check || true
rm -f "$small/filler"
ok SS pull -q "$big" || true
ok SS run --rm --network none "$big" test -s /big.bin || true
ok SS system check || true
umount "$small"
phase_end

# --- leaks -------------------------------------------------------------------------------------
phase_start leaks
leaks=()
leak() { leaks+=("$1: $2"); }
mounts=$( (findmnt -rn -o TARGET | grep -c "^$work") || true)
[ "$mounts" = 0 ] || leak mounts "$(findmnt -rn -o TARGET | grep "^$work" | head -5 | tr '\n' ' ')"
cgs=$( (find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -type d -path "*/$cgparent/*" 2>/dev/null || true) | wc -l)
[ "$cgs" = 0 ] || leak cgroups "$( (find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -type d -path "*/$cgparent/*" 2>/dev/null || true) | head -5 | tr '\n' ' ')"
veths=$( (ip -o link show master "$bridge" 2>/dev/null || true) | wc -l)
[ "$veths" = 0 ] || leak links "$(ip -o link show master "$bridge" | awk -F': ' '{print $2}' | tr '\n' ' ')"
if [ -n "$netbr" ] && ip link show "$netbr" >/dev/null 2>&1; then leak links "bridge $netbr of removed network $net"; veths=$((veths + 1)); fi
rules=$(nft_rules "$table")
[ "$rules" = "$base_rules" ] || leak nft "table $table has $rules rules, $base_rules at the baseline"
other_files >"$work/files.after"
files=$(comm -13 "$work/files.before" "$work/files.after" | wc -l)
[ "$files" = 0 ] || leak files "$(comm -13 "$work/files.before" "$work/files.after" | head -10 | tr '\n' ' ')"
# Processes of the run left: any in the run's cgroups (containers) or holding an fd, cwd
# or root under the engine root (CLIs, monitors).
read -r procs fds <<<"$(python3 - "$root" "$cgparent" <<'PY'
import os, sys
root, cg = sys.argv[1] + "/", "/" + sys.argv[2] + "/"
procs = fds = 0
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        held = 0
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                held += os.readlink(f"/proc/{pid}/fd/{fd}").startswith(root)
            except OSError:
                pass
        places = [os.readlink(f"/proc/{pid}/{x}") + "/" for x in ("cwd", "root")]
        incg = cg in open(f"/proc/{pid}/cgroup").read()
    except OSError:
        continue
    fds += held
    if held or incg or any(p.startswith(root) for p in places):
        procs += 1
        print(pid, open(f"/proc/{pid}/cmdline").read().replace("\0", " ")[:120], file=sys.stderr)
print(procs, fds)
PY
)" 2>"$work/procs.txt"
[ "$procs" = 0 ] || leak processes "$(head -5 "$work/procs.txt" | tr '\n' ';')"
[ "$fds" = 0 ] || leak fds "$fds fds into $root"
check_out=$(S system check 2>&1) && check_rc=0 || check_rc=$?
[ "$check_rc" = 0 ] || leak check "$check_out"
images >"$work/images.after"
lost=$(comm -23 "$work/images.before" "$work/images.after" | wc -l)
[ "$lost" = 0 ] || leak images "lost: $(comm -23 "$work/images.before" "$work/images.after" | tr '\n' ' ')"
ok S run --rm --network none "$img" true || leak images "$img does not run any more"
phase_end

# --- report --------------------------------------------------------------------------------------
total_ops=0 total_fails=0
printf '\nsoak of %s (cycles %d, concurrent %d, detached %d, kills %d each)\n' "$(cd "$here" && git rev-parse --short HEAD 2>/dev/null || echo ?)" "$cycles" "$concurrent" "$detached" "$kills"
printf '  %-11s %7s %9s %10s %10s\n' phase ops failures seconds "ms/op"
for p in "${phases[@]}"; do
	o=${OPS[$p]} f=${FAILS[$p]} m=${MS[$p]}
	total_ops=$((total_ops + o)) total_fails=$((total_fails + f))
	awk -v p="$p" -v o="$o" -v f="$f" -v m="$m" 'BEGIN { printf "  %-11s %7d %9d %10.1f %10s\n", p, o, f, m/1000, (o ? sprintf("%.0f", m/o) : "-") }'
done
printf '  %-11s %7d %9d\n' total "$total_ops" "$total_fails"
printf '  kill -9 points (ms, max): pull %s, build %s, run %s, rm %s\n' "$t_pull" "$t_build" "$t_run" "$t_rm"
printf '  kills that hit a running CLI (of %d each): pull %s, build %s, run %s, rm %s\n' "$kills" "${KILLED[pull]:-0}" "${KILLED[build]:-0}" "${KILLED[run]:-0}" "${KILLED[rm]:-0}"
printf '  monitors of the detached phase: %s, fds %s then %s; nft rules while up: %s\n' "$mon_n" "$mon_fds1" "$mon_fds2" "$live_rules"
printf '  system check right after the run and rm kills (before a heal): %s\n' "$kcheck"
printf '  containers of a killed rm that ps listed and the next rm found gone: %s\n' "$rm_vanished"
[ -n "${enospc_err:-}" ] && printf '  full-disk pull error: %s\n' "$enospc_err"
printf 'leaks\n'
printf '  mounts under the work dir     %s\n' "$mounts"
printf '  cgroups under %-15s %s\n' "$cgparent" "$cgs"
printf '  veths/bridges left            %s\n' "$veths"
printf '  nft rules of %-16s %s (baseline %s)\n' "$table" "$rules" "$base_rules"
printf '  files under the root          %s beyond the baseline\n' "$files"
printf '  processes left (CLI, monitor, container) %s\n' "$procs"
printf '  fds into the root             %s\n' "$fds"
printf '  images lost                   %s\n' "$lost"
printf '  system check (no --repair)    %s\n' "$( [ "$check_rc" = 0 ] && echo clean || echo "NOT CLEAN")"
status=0
if [ "${#leaks[@]}" -gt 0 ]; then
	printf 'LEAK %s\n' "${leaks[@]}"
	status=1
fi
if [ "$total_fails" -gt 0 ]; then
	printf 'FAILED operations (first 40 lines of %s):\n' "$log"
	head -40 "$log"
	status=1
fi
[ "$status" = 0 ] && echo "soak: ok"
exit "$status"
