#!/usr/bin/env bash
# Network benchmarks, one run, ratios:
#  1. TCP throughput container→container over a Skiff bridge network against host
#     loopback (the limit): 1 GiB through busybox nc.
#  2. `skiff run --rm IMG true` latency with the default bridge vs --network none.
# Root only; talks only to 127.0.0.1 and to the containers it starts.
# Usage: bench/net.sh [N]   (N latency runs, default 20)
set -euo pipefail
N=${1:-20}
here=$(cd "$(dirname "$0")/.." && pwd)
command -v busybox >/dev/null || { echo "bench/net.sh: apt-get install busybox-static" >&2; exit 1; }
work=$(mktemp -d /tmp/skiff-netbench.XXXXXX)
skiff() { "$work/skiff" --root "$work/root" "$@"; }
cleanup() {
	skiff rm -f nbsrv >/dev/null 2>&1 || true
	skiff network rm nbnet >/dev/null 2>&1 || true
	skiff network rm bridge >/dev/null 2>&1 || true
	[ -n "${hostsrv:-}" ] && kill "$hostsrv" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
(cd "$here" && go build -o "$work/skiff" ./examples/skiff)
mkdir -p "$work/rootfs/bin" && cp "$(command -v busybox)" "$work/rootfs/bin/busybox"
for a in sh true nc dd cat sleep; do ln -s busybox "$work/rootfs/bin/$a"; done
tar -C "$work/rootfs" -cf - . | skiff import - nb/busybox:latest >/dev/null

MB=1024
secs() { local t0 t1; t0=$(date +%s%N); "$@"; t1=$(date +%s%N); echo "scale=3; ($t1-$t0)/1000000000" | bc; }

# 1. Host loopback.
busybox nc -l -p 15201 >/dev/null & hostsrv=$!
sleep 0.2
host_s=$(secs sh -c "busybox dd if=/dev/zero bs=1M count=$MB 2>/dev/null | busybox nc 127.0.0.1 15201")
wait "$hostsrv" 2>/dev/null || true; hostsrv=

# Container to container over a bridge network.
skiff network create nbnet >/dev/null
skiff run -d --name nbsrv --network nbnet nb/busybox:latest sh -c 'nc -l -p 5201 > /dev/null' >/dev/null
sleep 0.3
br_s=$(secs skiff run --rm --network nbnet nb/busybox:latest sh -c "dd if=/dev/zero bs=1M count=$MB 2>/dev/null | nc nbsrv 5201")
skiff rm -f nbsrv >/dev/null

# 2. Start latency with and without a bridge.
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m/1e6}'; }
lat() { for i in $(seq "$N"); do local t0; t0=$(date +%s%N); skiff run --rm "$@" nb/busybox:latest true >/dev/null; echo $(( $(date +%s%N) - t0 )); done | median; }
bridge_ms=$(lat --network bridge)
none_ms=$(lat --network none)

echo "TCP throughput, ${MB} MiB through busybox nc"
awk -v h="$host_s" -v b="$br_s" -v m="$MB" 'BEGIN {
	printf "  host loopback            %8.0f MiB/s\n  container→container (br) %8.0f MiB/s\n  bridge/loopback          %8.2f\n", m/h, m/b, h/b }'
echo "skiff run --rm true, median of $N (ms)"
printf '  --network bridge  %8s\n  --network none    %8s\n' "$bridge_ms" "$none_ms"
awk -v b="$bridge_ms" -v n="$none_ms" 'BEGIN { printf "  bridge/none       %8.2f\n", b/n }'
