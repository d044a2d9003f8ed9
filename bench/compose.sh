#!/usr/bin/env bash
# Compose: `up -d` and `down -v` of the compose package's two-service test app
# (compose/testdata/app: a built worker that turns healthy, a web service that waits
# for it, a user network, a named volume, a published port), with `skiff compose`
# (in-process over the library) against Debian's docker-compose 1.29 driving skiffd
# and, when $SKIFF_COMPOSE_V2 names its standalone binary (github.com/docker/compose/v5
# v5.6.0: go build ./cmd in its module), docker compose v2 driving skiffd; all on one
# engine root; N rounds each (default 5), medians and ratios. Images are
# built once before timing, so `up -d` creates the network, volume and containers and
# waits for the health check; `down -v` removes them all. Root only.
# Usage: bench/compose.sh [N]
set -euo pipefail
[ -n "${SKIFF_BENCH_TRACE:-}" ] && set -x
N=${1:-5}
here=$(cd "$(dirname "$0")/.." && pwd)

for b in docker-compose busybox curl; do
	command -v $b >/dev/null || { echo "bench/compose.sh: $b missing" >&2; exit 1; }
done

work=$(mktemp -d /tmp/skiff-bench-compose.XXXXXX)
(cd "$here" && go build -o "$work/skiff" ./examples/skiff && go build -o "$work/skiff-compose" ./examples/skiff-compose && go build -o "$work/skiffd" ./examples/skiffd)

rootfs=$work/rootfs
mkdir -p "$rootfs/bin" "$rootfs/proc" "$rootfs/dev" "$rootfs/sys" "$rootfs/tmp" "$rootfs/etc"
cp "$(command -v busybox)" "$rootfs/bin/busybox"
for a in sh true echo sleep test httpd wget cat mv rm hostname; do ln -s busybox "$rootfs/bin/$a"; done
tar -C "$rootfs" -cf "$work/rootfs.tar" .

root=$work/root
sock=$work/docker.sock
net=skc$$
file=$here/compose/testdata/app/compose.yaml
"$work/skiff" --root "$root" import "$work/rootfs.tar" bench/busybox:latest >/dev/null
"$work/skiffd" -H "unix://$sock" --root "$root" --nft-table "$net" --bridge "$net" --cgroup-parent "skiff-bench-$$" 2>"$work/skiffd.log" &
skiffd_pid=$!
cleanup() {
	"$work/skiff" --root "$root" compose -f "$file" -p bskiff --env-file "$work/skiff.env" down -v -t 1 >/dev/null 2>&1 || true
	docker-compose -f "$file" -p bdc --env-file "$work/dc.env" down -v -t 1 >/dev/null 2>&1 || true
	[ -z "${SKIFF_COMPOSE_V2:-}" ] || "$SKIFF_COMPOSE_V2" -f "$file" -p bv2 --env-file "$work/v2.env" down -v -t 1 >/dev/null 2>&1 || true
	kill "$skiffd_pid" 2>/dev/null || true
	wait "$skiffd_pid" 2>/dev/null || true
	ip link del "$net" 2>/dev/null || true
	nft delete table ip "$net" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
for i in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
mkdir -p "$work/docker-config"
export DOCKER_HOST=unix://$sock DOCKER_CONFIG=$work/docker-config DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
sport=$(free_port) dport=$(free_port) vport=$(free_port)
printf 'BASE=bench/busybox:latest\nWEB_PORT=%s\nBRIDGE=%s\n' "$vport" "${net}v" >"$work/v2.env"
printf 'BASE=bench/busybox:latest\nWEB_PORT=%s\nBRIDGE=%s\n' "$sport" "${net}s" >"$work/skiff.env"
printf 'BASE=bench/busybox:latest\nWEB_PORT=%s\nBRIDGE=%s\n' "$dport" "${net}d" >"$work/dc.env"
sk() { "$work/skiff" --root "$root" compose -f "$file" -p bskiff --env-file "$work/skiff.env" "$@"; }
dc() { docker-compose --ansi never -f "$file" -p bdc --env-file "$work/dc.env" "$@"; }
v2() { "$SKIFF_COMPOSE_V2" --ansi never -f "$file" -p bv2 --env-file "$work/v2.env" "$@"; }

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.0f", m/1e6}'; }
# rounds NAME PORT CMD...: N rounds of up -d, a check that the page is served, down -v;
# prints "UP DOWN" medians in ms.
rounds() {
	local name=$1 port=$2; shift 2
	"$@" up -d --build >/dev/null 2>&1 || { echo "bench/compose.sh: $name up --build failed" >&2; "$@" up -d --build; exit 1; }
	"$@" down -v >/dev/null 2>&1
	: >"$work/up" ; : >"$work/down"
	for i in $(seq "$N"); do
		local t0; t0=$(now)
		"$@" up -d >/dev/null 2>&1 || { echo "bench/compose.sh: $name up failed" >&2; "$@" up -d; exit 1; }
		echo $(( $(now) - t0 )) >>"$work/up"
		for j in $(seq 100); do curl -fsS "http://127.0.0.1:$port/" >/dev/null 2>&1 && break; sleep 0.05; done
		curl -fsS "http://127.0.0.1:$port/" | grep -q hello-from-env-file || { echo "bench/compose.sh: $name app not served" >&2; exit 1; }
		t0=$(now)
		"$@" down -v >/dev/null 2>&1 || { echo "bench/compose.sh: $name down failed" >&2; exit 1; }
		echo $(( $(now) - t0 )) >>"$work/down"
	done
	echo "$(median <"$work/up") $(median <"$work/down")"
}

read -r s_up s_down < <(rounds "skiff compose" "$sport" sk)
read -r d_up d_down < <(rounds "docker-compose → skiffd" "$dport" dc)
v_up=- v_down=-
[ -z "${SKIFF_COMPOSE_V2:-}" ] || read -r v_up v_down < <(rounds "docker compose v2 → skiffd" "$vport" v2)

printf 'compose app (2 services, healthy dependency, network, volume, port), median of %d rounds (ms)\n' "$N"
printf '                              %8s %8s\n' "up -d" "down -v"
printf '  skiff compose (in-process)  %8s %8s\n' "$s_up" "$s_down"
printf '  docker-compose 1.29→skiffd  %8s %8s\n' "$d_up" "$d_down"
printf '  docker compose v2→skiffd    %8s %8s\n' "$v_up" "$v_down"
awk -v a="$s_up" -v b="$s_down" -v c="$d_up" -v d="$d_down" -v e="$v_up" -v f="$v_down" 'BEGIN {
	printf "  docker-compose / skiff      %8.2f %8.2f\n", c/a, d/b
	if (e != "-") printf "  compose v2 / skiff          %8.2f %8.2f\n", e/a, f/b }'
