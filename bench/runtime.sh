#!/usr/bin/env bash
# OCI runtime CLI latency: create + start + delete --force of one busybox bundle
# running /bin/true, with skiff-runc (examples/skiff-runc), runc and crun; median of
# N runs each (default 20), and the skiff-runc/runc and skiff-runc/crun ratios.
# With containerd and ctr installed, also `ctr run --rm` of an imported busybox image
# with the runc shim driving runc and then skiff-runc (--runc-binary).
# Root only. Usage: bench/runtime.sh [N]
#
# On this hybrid-cgroup host crun only runs when /sys/fs/cgroup/unified is not
# mounted, so the script re-executes itself in a private mount namespace with it
# unmounted, and all runtimes are measured there alike.
set -euo pipefail
[ -n "${SKIFF_BENCH_TRACE:-}" ] && set -x
N=${1:-20}
here=$(cd "$(dirname "$0")/.." && pwd)

if [ -z "${SKIFF_BENCH_NS:-}" ]; then
	export SKIFF_BENCH_NS=1
	exec unshare -m --propagation private bash -c 'umount /sys/fs/cgroup/unified 2>/dev/null || true; exec "$0" "$@"' "$0" "$@"
fi

for b in runc crun busybox; do
	command -v $b >/dev/null || { echo "bench/runtime.sh: $b missing (apt-get install runc crun busybox-static)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/skiff-runtime-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
(cd "$here" && CGO_ENABLED=0 go build -o "$work/skiff-runc" ./examples/skiff-runc)

bundle=$work/bundle
mkdir -p "$bundle/rootfs/bin" "$bundle/rootfs/proc" "$bundle/rootfs/dev" "$bundle/rootfs/sys" "$bundle/rootfs/tmp"
cp "$(command -v busybox)" "$bundle/rootfs/bin/busybox"
for a in sh true echo sleep; do ln -s busybox "$bundle/rootfs/bin/$a"; done
(cd "$bundle" && runc spec && sed -i 's/"terminal": true/"terminal": false/; s/"sh"$/"\/bin\/true"/' config.json)

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m/1e6}'; }
# cycle RUNTIME STATE ID: create, start, delete --force.
cycle() {
	"$1" --root "$2" create --bundle "$bundle" "$3" </dev/null >/dev/null 2>&1 &&
		"$1" --root "$2" start "$3" &&
		"$1" --root "$2" delete --force "$3"
}
measure() { # name runtime
	local name=$1 rt=$2 st=$work/state-$1
	cycle "$rt" "$st" "bench-$name-$$-warm" || { echo "bench/runtime.sh: $name failed" >&2; exit 1; }
	for i in $(seq "$N"); do
		local t0; t0=$(now); cycle "$rt" "$st" "bench-$name-$$-$i" >/dev/null 2>&1; echo $(( $(now) - t0 ))
	done | median
}

skiff_ms=$(measure skiff-runc "$work/skiff-runc")
runc_ms=$(measure runc runc)
crun_ms=$(measure crun crun)
printf 'create+start+delete of /bin/true, median of %d runs (ms)\n' "$N"
printf '  skiff-runc      %8s\n  runc            %8s\n  crun            %8s\n' "$skiff_ms" "$runc_ms" "$crun_ms"
awk -v s="$skiff_ms" -v r="$runc_ms" -v c="$crun_ms" 'BEGIN { printf "  skiff-runc/runc %8.2f\n  skiff-runc/crun %8.2f\n", s/r, s/c }'

if ! command -v containerd >/dev/null || ! command -v ctr >/dev/null; then
	echo "ctr run --rm: skipped (apt-get install containerd)"
	exit 0
fi
# containerd on its own socket, root and state; no CRI.
cd_dir=$work/containerd
mkdir -p "$cd_dir"
cat >"$cd_dir/config.toml" <<TOML
version = 2
root = "$cd_dir/root"
state = "$cd_dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$cd_dir/containerd.sock"
TOML
containerd --config "$cd_dir/config.toml" >"$cd_dir/log" 2>&1 &
cpid=$!
ns=skiff-rtbench-$$
cleanup_ctd() {
	kill "$cpid" 2>/dev/null; wait "$cpid" 2>/dev/null || true
	grep -o " $cd_dir/[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	# The runc shim's runtime state and ctr's cgroup parent are per namespace.
	rm -rf "/run/containerd/runc/$ns"
	rmdir /sys/fs/cgroup/*/"$ns" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup_ctd EXIT
for i in $(seq 100); do [ -S "$cd_dir/containerd.sock" ] && break; sleep 0.05; done
ctr_() { ctr --address "$cd_dir/containerd.sock" --namespace "$ns" "$@"; }
tar -C "$bundle/rootfs" -cf "$work/layer.tar" .
# A docker-archive of the rootfs, imported as bench/busybox:latest.
img=$work/img
mkdir -p "$img/l"
cp "$work/layer.tar" "$img/l/layer.tar"
cfg='{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/true"]},"rootfs":{"type":"layers","diff_ids":["sha256:'$(sha256sum "$work/layer.tar" | cut -d" " -f1)'"]}}'
echo "$cfg" >"$img/config.json"
echo '[{"Config":"config.json","RepoTags":["bench.local/busybox:latest"],"Layers":["l/layer.tar"]}]' >"$img/manifest.json"
tar -C "$img" -cf "$work/image.tar" config.json manifest.json l/layer.tar
ctr_ images import "$work/image.tar" >/dev/null
ctr_measure() { # name runc-binary
	ctr_ run --rm --runc-binary "$2" bench.local/busybox:latest "ctr-$1-$$-warm" /bin/true >/dev/null
	for i in $(seq "$N"); do
		local t0; t0=$(now); ctr_ run --rm --runc-binary "$2" bench.local/busybox:latest "ctr-$1-$$-$i" /bin/true >/dev/null 2>&1; echo $(( $(now) - t0 ))
	done | median
}
ctr_runc=$(ctr_measure runc "$(command -v runc)")
ctr_skiff=$(ctr_measure skiff "$work/skiff-runc")
printf 'ctr run --rm /bin/true through the runc shim, median of %d runs (ms)\n' "$N"
printf '  runc            %8s\n  skiff-runc      %8s\n' "$ctr_runc" "$ctr_skiff"
awk -v s="$ctr_skiff" -v r="$ctr_runc" 'BEGIN { printf "  skiff-runc/runc %8.2f\n", s/r }'
