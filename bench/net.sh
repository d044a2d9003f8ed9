#!/usr/bin/env bash
# Network benchmarks, one run, ratios:
#  1. TCP throughput container→container over a Skiff bridge network against host
#     loopback (the limit): 512 MiB over HTTP, busybox httpd → wget, from tmpfs.
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
for a in sh true dd cat sleep seq; do ln -s busybox "$work/rootfs/bin/$a"; done

MB=512
# busybox time prints "real 0m 1.23s"; secs turns that into seconds.
secs() { sed -n 's/^real[[:space:]]*\([0-9]*\)m[[:space:]]*\([0-9.]*\)s$/\1 \2/p' | awk '{print $1*60+$2}'; }
for a in httpd wget time; do ln -sf busybox "$work/rootfs/bin/$a"; done
tar -C "$work/rootfs" -cf - . | skiff import - nb/busybox:latest >/dev/null

# 1. Host loopback: busybox httpd and wget on 127.0.0.1, the blob on tmpfs.
www=$(mktemp -d /dev/shm/skiff-nb.XXXXXX)
busybox dd if=/dev/zero of="$www/blob" bs=1M count=$MB 2>/dev/null
busybox httpd -f -p 127.0.0.1:15201 -h "$www" & hostsrv=$!
sleep 0.3
host_s=$( { busybox time busybox wget -q -O /dev/null http://127.0.0.1:15201/blob; } 2>&1 | secs)
kill "$hostsrv"; wait "$hostsrv" 2>/dev/null || true; hostsrv=; rm -rf "$www"

# Container to container over a bridge network, the blob on a tmpfs in the server.
skiff network create nbnet >/dev/null
skiff run -d --name nbsrv --network nbnet --tmpfs /www:size=$((MB+64))m nb/busybox:latest \
	sh -c "dd if=/dev/zero of=/www/blob bs=1M count=$MB 2>/dev/null && exec httpd -f -p 80 -h /www" >/dev/null
sleep 1
br_s=$(skiff run --rm --network nbnet nb/busybox:latest sh -c \
	"for i in \$(seq 50); do wget -q -O /dev/null http://nbsrv/ 2>/dev/null; [ \$? -ne 4 ] && break; sleep 0.1; done; time wget -q -O /dev/null http://nbsrv/blob" 2>&1 | secs)
skiff rm -f nbsrv >/dev/null

# 2. Start latency with and without a bridge.
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m/1e6}'; }
lat() { for i in $(seq "$N"); do local t0; t0=$(date +%s%N); skiff run --rm "$@" nb/busybox:latest true >/dev/null; echo $(( $(date +%s%N) - t0 )); done | median; }
bridge_ms=$(lat --network bridge)
none_ms=$(lat --network none)

echo "TCP throughput, ${MB} MiB over HTTP (busybox httpd → wget)"
awk -v h="$host_s" -v b="$br_s" -v m="$MB" 'BEGIN {
	printf "  host loopback            %8.0f MiB/s\n  container→container (br) %8.0f MiB/s\n  bridge/loopback          %8.2f\n", m/h, m/b, h/b }'
echo "skiff run --rm true, median of $N (ms)"
printf '  --network bridge  %8s\n  --network none    %8s\n' "$bridge_ms" "$none_ms"
awk -v b="$bridge_ms" -v n="$none_ms" 'BEGIN { printf "  bridge/none       %8.2f\n", b/n }'
