#!/usr/bin/env bash
# Start latency: time start→exit of /bin/true on one busybox rootfs for
#   skiff run --rm (image already in the store), runc run and crun run,
# N runs each in one run of this script; prints medians and the Skiff/runc and
# Skiff/crun ratios. Root only. Usage: bench/run.sh [N]   (default 30)
#
# On this hybrid-cgroup host crun only runs when /sys/fs/cgroup/unified is not
# mounted, so the whole script re-executes itself in a private mount namespace with it
# unmounted, and all three runtimes are measured there alike.
set -euo pipefail
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
(cd "$here" && go build -o "$work/skiff" ./examples/skiff)

# One busybox rootfs for everyone.
bundle=$work/bundle
mkdir -p "$bundle/rootfs/bin" "$bundle/rootfs/proc" "$bundle/rootfs/dev" "$bundle/rootfs/sys" "$bundle/rootfs/tmp"
cp "$(command -v busybox)" "$bundle/rootfs/bin/busybox"
for a in sh true echo; do ln -s busybox "$bundle/rootfs/bin/$a"; done
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
runc_ms=$(measure runc runc --root "$work/runc-state" run --bundle "$bundle" "skiff-bench-runc-$$")
crun_ms=$(measure crun crun --root "$work/crun-state" run --bundle "$bundle" "skiff-bench-crun-$$")

printf 'start→exit of /bin/true, median of %d runs (ms)\n' "$N"
printf '  skiff run --rm  %8s\n  runc run        %8s\n  crun run        %8s\n' "$skiff_ms" "$runc_ms" "$crun_ms"
awk -v s="$skiff_ms" -v r="$runc_ms" -v c="$crun_ms" 'BEGIN { printf "  skiff/runc      %8.2f\n  skiff/crun      %8.2f\n", s/r, s/c }'
