#!/usr/bin/env bash
# The Docker API's overhead: time of `docker run --rm IMG /bin/true` with the real docker
# CLI against skiffd, against `skiff run --rm` (the library without a daemon) and against
# `podman run --rm`, each with no network and with the default bridge, N runs each in one
# run of this script; prints medians and the ratios. Root only. podman runs with runc and
# explicit nofile/nproc ulimits (its crun and its default rlimits fail on this hybrid-cgroup
# host).
# Usage: bench/docker-cli.sh [N]   (default 20)
set -euo pipefail
[ -n "${SKIFF_BENCH_TRACE:-}" ] && set -x
N=${1:-20}
here=$(cd "$(dirname "$0")/.." && pwd)

for b in docker busybox; do
	command -v $b >/dev/null || { echo "bench/docker-cli.sh: $b missing" >&2; exit 1; }
done

work=$(mktemp -d /tmp/skiff-bench-docker.XXXXXX)
(cd "$here" && go build -o "$work/skiff" ./examples/skiff && go build -o "$work/skiffd" ./examples/skiffd)

# One busybox rootfs for everyone.
rootfs=$work/rootfs
mkdir -p "$rootfs/bin" "$rootfs/proc" "$rootfs/dev" "$rootfs/sys" "$rootfs/tmp" "$rootfs/etc"
cp "$(command -v busybox)" "$rootfs/bin/busybox"
for a in sh true echo sleep; do ln -s busybox "$rootfs/bin/$a"; done
tar -C "$rootfs" -cf "$work/rootfs.tar" .

root=$work/root
sock=$work/docker.sock
net=skb$$
"$work/skiff" --root "$root" import "$work/rootfs.tar" bench/busybox:latest >/dev/null
"$work/skiffd" -H "unix://$sock" --root "$root" --nft-table "$net" --bridge "$net" --cgroup-parent "skiff-bench-$$" 2>"$work/skiffd.log" &
skiffd_pid=$!
cleanup() {
	kill "$skiffd_pid" 2>/dev/null || true
	wait "$skiffd_pid" 2>/dev/null || true
	# The default network (bridge and nftables table) outlives containers, as Docker's.
	ip link del "$net" 2>/dev/null || true
	nft delete table ip "$net" 2>/dev/null || true
	if [ -n "${podman_ok:-}" ]; then env -u DOCKER_HOST -u DOCKER_CONFIG podman "${pm[@]}" system reset -f >/dev/null 2>&1 || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
for i in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
mkdir -p "$work/docker-config"
export DOCKER_HOST=unix://$sock DOCKER_CONFIG=$work/docker-config

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m/1e6}'; }
measure() { # name, command...
	local name=$1; shift
	"$@" >/dev/null 2>&1 || { echo "bench/docker-cli.sh: $name failed: $*" >&2; "$@"; exit 1; }
	for i in $(seq "$N"); do
		local t0; t0=$(now); "$@" >/dev/null 2>&1; echo $(( $(now) - t0 ))
	done | median
}

img=bench/busybox:latest
d_none=$(measure "docker→skiffd" docker run --rm --network none "$img" /bin/true)
s_none=$(measure "skiff" "$work/skiff" --root "$root" run --rm --network none "$img" /bin/true)
d_br=$(measure "docker→skiffd (bridge)" docker run --rm "$img" /bin/true)
s_br=$(measure "skiff (bridge)" "$work/skiff" --root "$root" run --rm "$img" /bin/true)
d_ver=$(measure "docker version" docker version)

p_none=- p_br=-
pm=(--root "$work/podman" --runroot "$work/podman-run" --cgroup-manager cgroupfs --events-backend none)
if command -v podman >/dev/null && env -u DOCKER_HOST -u DOCKER_CONFIG podman "${pm[@]}" import "$work/rootfs.tar" localhost/bench/busybox:latest >/dev/null 2>&1; then
	podman_ok=1
	p_none=$(measure podman env -u DOCKER_HOST -u DOCKER_CONFIG podman "${pm[@]}" run --rm --network none --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 localhost/bench/busybox:latest /bin/true)
	p_br=$(measure "podman (bridge)" env -u DOCKER_HOST -u DOCKER_CONFIG podman "${pm[@]}" run --rm --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 localhost/bench/busybox:latest /bin/true)
fi

printf 'run --rm of /bin/true, median of %d runs (ms)\n' "$N"
printf '                         %10s %10s\n' "no network" "bridge"
printf '  docker CLI → skiffd    %10s %10s\n' "$d_none" "$d_br"
printf '  skiff run --rm         %10s %10s\n' "$s_none" "$s_br"
printf '  podman run --rm        %10s %10s\n' "$p_none" "$p_br"
printf '  docker version (CLI + API round trip alone): %s\n' "$d_ver"
awk -v d="$d_none" -v s="$s_none" -v p="$p_none" -v db="$d_br" -v sb="$s_br" -v pb="$p_br" 'BEGIN {
	printf "  docker→skiffd / skiff  %10.2f %10.2f\n", d/s, db/sb
	if (p != "-") printf "  docker→skiffd / podman %10.2f %10.2f\n", d/p, db/pb
}'

# docker stats --no-stream and docker cp of a 100 MB directory both ways, against podman's
# stats and cp on the same kind of container.
payload=$work/payload
mkdir -p "$payload"
for i in $(seq 100); do head -c 1048576 /dev/urandom >"$payload/f$i"; done
docker run -d --name bench-cp --network none "$img" sleep 600 >/dev/null
d_stats=$(measure "docker stats" docker stats --no-stream bench-cp)
d_cpin=$(measure "docker cp in" docker cp "$payload" bench-cp:/tmp/)
d_cpout=$(measure "docker cp out" sh -c "rm -rf '$work/out' && mkdir '$work/out' && docker cp bench-cp:/tmp/payload '$work/out/'")
[ "$(du -sb "$work/out/payload" | cut -f1)" -ge 104857600 ] || { echo "bench/docker-cli.sh: docker cp out copied $(du -sb "$work/out/payload")" >&2; exit 1; }
docker rm -f bench-cp >/dev/null
p_stats=- p_cpin=- p_cpout=-
if [ -n "${podman_ok:-}" ]; then
	pmx() { env -u DOCKER_HOST -u DOCKER_CONFIG podman "${pm[@]}" "$@"; }
	pmx run -d --name bench-cp --network none --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 localhost/bench/busybox:latest sleep 600 >/dev/null
	p_stats=$(measure "podman stats" env -u DOCKER_HOST -u DOCKER_CONFIG podman "${pm[@]}" stats --no-stream bench-cp)
	p_cpin=$(measure "podman cp in" env -u DOCKER_HOST -u DOCKER_CONFIG podman "${pm[@]}" cp "$payload" bench-cp:/tmp/)
	p_cpout=$(measure "podman cp out" sh -c "rm -rf '$work/out' && mkdir '$work/out' && podman ${pm[*]} cp bench-cp:/tmp/payload '$work/out/'")
	pmx rm -f bench-cp >/dev/null
fi
printf '\nstats and cp, median of %d runs (ms)\n' "$N"
printf '                          %10s %10s\n' "skiffd" "podman"
printf '  stats --no-stream       %10s %10s\n' "$d_stats" "$p_stats"
printf '  cp 100 MB dir in        %10s %10s\n' "$d_cpin" "$p_cpin"
printf '  cp 100 MB dir out       %10s %10s\n' "$d_cpout" "$p_cpout"
if [ "$p_stats" != - ]; then
	awk -v a="$d_stats" -v b="$p_stats" -v c="$d_cpin" -v d="$p_cpin" -v e="$d_cpout" -v f="$p_cpout" 'BEGIN {
		printf "  skiffd/podman: stats %.2f, cp in %.2f, cp out %.2f\n", a/b, c/d, e/f }'
fi
