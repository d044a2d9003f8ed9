#!/usr/bin/env bash
# Build benchmark (issue 8): the Dockerfile below on a busybox image served by a local
# registry (Debian's docker-registry on 127.0.0.1), built by
#   skiff build                                   (fresh --root per cold run)
#   buildah bud --isolation chroot --layers       (fresh --root/--runroot per cold run)
# cold = base not yet pulled, empty cache; cached = the same build again, nothing
# changed. N runs each (default 5); prints medians (ms) and Skiff/buildah ratios.
# Root only. Usage: bench/build.sh [N]
set -euo pipefail
N=${1:-5}
here=$(cd "$(dirname "$0")/.." && pwd)

for b in buildah docker-registry busybox; do
	command -v $b >/dev/null || { echo "bench/build.sh: $b missing (apt-get install buildah docker-registry busybox-static)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/skiff-bench-build.XXXXXX)
reg_pid=
cleanup() {
	if [ -n "$reg_pid" ]; then kill "$reg_pid" 2>/dev/null; wait "$reg_pid" 2>/dev/null || true; fi
	# buildah leaves overlay mounts under its roots
	grep -o " $work[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done || true
	rm -rf "$work"
}
trap cleanup EXIT
(cd "$here" && go build -o "$work/skiff" ./examples/skiff)

# Local registry.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
reg=127.0.0.1:$port
cat >"$work/registry.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/registry}}
http: {addr: $reg, secret: bench}
YML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
reg_pid=$!
for _ in $(seq 50); do curl -s "http://$reg/v2/" >/dev/null && break; sleep 0.1; done

# The busybox base, pushed to the registry (built and pushed with skiff itself).
mkdir -p "$work/bb/rootfs/bin" "$work/bb/rootfs/tmp" "$work/bb/rootfs/etc"
cp "$(command -v busybox)" "$work/bb/rootfs/bin/busybox"
for a in $(busybox --list); do [ "$a" = busybox ] || ln -s busybox "$work/bb/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$work/bb/rootfs/etc/passwd"
echo 'root:x:0:' >"$work/bb/rootfs/etc/group"
chmod 1777 "$work/bb/rootfs/tmp"
printf 'FROM scratch\nCOPY rootfs/ /\nENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nCMD ["sh"]\n' >"$work/bb/Dockerfile"
"$work/skiff" --root "$work/seed" build -q --push -t "$reg/busybox:latest" "$work/bb" >/dev/null

# The benchmark's context.
ctx=$work/ctx
mkdir -p "$ctx"
seq 1 20000 >"$ctx/data.txt"
cat >"$ctx/Dockerfile" <<DF
FROM $reg/busybox:latest
ARG GREETING=hello
ENV APP=/app
WORKDIR /app
COPY data.txt /app/data.txt
RUN wc -l /app/data.txt > /app/count && echo \$GREETING > /app/greeting
RUN mkdir -p /app/out && for i in 1 2 3 4 5; do echo \$i > /app/out/\$i; done
CMD ["cat", "/app/count"]
DF

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.0f", m/1e6}'; }
timed() { local t0; t0=$(now); "$@" >/dev/null 2>"$work/last.err" || { cat "$work/last.err" >&2; exit 1; }; echo $(( $(now) - t0 )); }

skiff_build() { "$work/skiff" --root "$1" build -q -t bench:latest "$ctx"; }
buildah_build() {
	buildah --root "$1/root" --runroot "$1/run" --storage-driver overlay bud \
		--isolation chroot --layers --tls-verify=false --quiet -t bench:latest "$ctx"
}

: >"$work/sc"; : >"$work/sw"; : >"$work/bc"; : >"$work/bw"
for i in $(seq "$N"); do
	timed skiff_build "$work/s$i" >>"$work/sc"
	timed skiff_build "$work/s$i" >>"$work/sw"
	timed buildah_build "$work/b$i" >>"$work/bc"
	timed buildah_build "$work/b$i" >>"$work/bw"
	"$work/skiff" --root "$work/s$i" run --rm bench:latest | grep -q "^20000" || { echo "bench/build.sh: skiff image is wrong" >&2; exit 1; }
	buildah --root "$work/b$i/root" --runroot "$work/b$i/run" --storage-driver overlay rmi -a -f >/dev/null 2>&1 || true
	grep -o " $work/b$i[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done || true
	rm -rf "$work/s$i" "$work/b$i"
done
sc=$(median <"$work/sc"); sw=$(median <"$work/sw"); bc=$(median <"$work/bc"); bw=$(median <"$work/bw")
printf 'docker build of the issue-8 Dockerfile, median of %d runs (ms)\n' "$N"
printf '                 cold   cached\n'
printf '  skiff      %8s %8s\n  buildah    %8s %8s\n' "$sc" "$sw" "$bc" "$bw"
awk -v a="$sc" -v b="$bc" -v c="$sw" -v d="$bw" 'BEGIN { printf "  skiff/buildah %5.2f %8.2f\n", a/b, c/d }'
