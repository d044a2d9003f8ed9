#!/usr/bin/env bash
# Cold pull latency: time from nothing to an image unpacked and ready to run, for
#   skiff pull                      (fresh --root each run)
#   podman pull                     (fresh --root/--runroot each run, overlay driver)
#   skopeo copy docker:// oci: + umoci unpack
#   curl | gunzip | tar -x          (the three layer blobs, one after the other)
# on a 3-layer Debian image (debootstrap --variant=minbase bookworm without apt lists,
# split into base / usr/share, plus /usr/lib/python3.11 of the host as an "app" layer:
# about 60 MB gzip, 180 MB unpacked) served by a local docker-registry. N runs of each,
# one script run; prints medians and the ratios to Skiff. Root only.
#
# Usage: bench/pull.sh [N]   (default 5)
# Env:   SKIFF_BENCH_CACHE  where the rootfs and image are kept between runs
#                           (default /var/tmp/skiff-bench)
#        SKIFF_BENCH_GOFLAGS  extra flags for building the CLI (e.g. -overlay FILE)
set -euo pipefail
N=${1:-5}
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${SKIFF_BENCH_CACHE:-/var/tmp/skiff-bench}
mkdir -p "$cache"

for b in docker-registry skopeo umoci curl debootstrap; do
	command -v $b >/dev/null || { echo "bench/pull.sh: $b missing (apt-get install docker-registry skopeo umoci curl debootstrap podman)" >&2; exit 1; }
done
have_podman=1
command -v podman >/dev/null || { have_podman=0; echo "bench/pull.sh: podman missing, skipped" >&2; }

work=$(mktemp -d /var/tmp/skiff-pull.XXXXXX)
reg_pid=
cleanup() {
	[ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	umount -R "$work"/* 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
(cd "$here" && go build ${SKIFF_BENCH_GOFLAGS:-} -o "$work/skiff" ./examples/skiff)

# --- the image: three gzip layers in an OCI layout (built once, kept in the cache) ---
oci=$cache/oci
if [ ! -f "$oci/index.json" ]; then
	if [ ! -x "$cache/rootfs/bin/sh" ]; then
		rm -rf "$cache/rootfs"
		if ! debootstrap --variant=minbase bookworm "$cache/rootfs" http://deb.debian.org/debian >"$cache/debootstrap.log" 2>&1; then
			echo "debootstrap failed (see $cache/debootstrap.log); using the host's /usr and /etc" >&2
			rm -rf "$cache/rootfs"; mkdir -p "$cache/rootfs/usr"
			cp -a /etc "$cache/rootfs/etc"; cp -a /usr/bin /usr/sbin /usr/lib /usr/share "$cache/rootfs/usr/" 2>/dev/null || true
		fi
		rm -rf "$cache/rootfs/var/lib/apt/lists"/* "$cache/rootfs/var/cache/apt"/*.bin "$cache/rootfs/var/cache/apt/archives"/*.deb
	fi
	lt=$cache/layers; rm -rf "$lt" "$oci"; mkdir -p "$lt" "$oci/blobs/sha256"
	tar -C "$cache/rootfs" --numeric-owner --exclude=./usr/share -cf "$lt/1.tar" .
	tar -C "$cache/rootfs" --numeric-owner -cf "$lt/2.tar" ./usr/share
	tar -C / --numeric-owner -cf "$lt/3.tar" ./usr/lib/python3.11
	diffs=(); layers=()
	for i in 1 2 3; do
		diffs+=("sha256:$(sha256sum <"$lt/$i.tar" | cut -d' ' -f1)")
		gzip -n -6 <"$lt/$i.tar" >"$lt/$i.tar.gz"
		d=$(sha256sum <"$lt/$i.tar.gz" | cut -d' ' -f1)
		cp "$lt/$i.tar.gz" "$oci/blobs/sha256/$d"
		layers+=("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$d\",\"size\":$(stat -c %s "$lt/$i.tar.gz")}")
	done
	cfg="{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\"Cmd\":[\"bash\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"${diffs[0]}\",\"${diffs[1]}\",\"${diffs[2]}\"]}}"
	printf '%s' "$cfg" >"$lt/config.json"
	cd_=$(sha256sum <"$lt/config.json" | cut -d' ' -f1); cp "$lt/config.json" "$oci/blobs/sha256/$cd_"
	man="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$cd_\",\"size\":$(stat -c %s "$lt/config.json")},\"layers\":[${layers[0]},${layers[1]},${layers[2]}]}"
	printf '%s' "$man" >"$lt/manifest.json"
	md=$(sha256sum <"$lt/manifest.json" | cut -d' ' -f1); cp "$lt/manifest.json" "$oci/blobs/sha256/$md"
	printf '{"imageLayoutVersion":"1.0.0"}' >"$oci/oci-layout"
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"bench"}}]}' "$md" "$(stat -c %s "$lt/manifest.json")" >"$oci/index.json"
	rm -f "$lt"/*.tar
fi

# --- a local registry holding it ---
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
addr=127.0.0.1:$port
mkdir -p "$work/registry"
cat >"$work/registry.yml" <<EOF
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $work/registry}, delete: {enabled: true}}
http: {addr: $addr}
EOF
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
reg_pid=$!
for _ in $(seq 100); do curl -sf "http://$addr/v2/" >/dev/null && break; sleep 0.1; done
ref=$addr/bench/debian:latest
skopeo copy -q --dest-tls-verify=false "oci:$oci:bench" "docker://$ref"

manifest=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$addr/v2/bench/debian/manifests/latest")
blobs=$(printf '%s' "$manifest" | python3 -c 'import json,sys; print(" ".join(l["digest"] for l in json.load(sys.stdin)["layers"]))')
gz=$(printf '%s' "$manifest" | python3 -c 'import json,sys; print(sum(l["size"] for l in json.load(sys.stdin)["layers"]))')
echo "image: $ref, 3 layers, $((gz / 1000000)) MB compressed"

# --- the contenders; each gets a fresh directory per run ---
now() { date +%s.%N; }
t_skiff() { "$work/skiff" --root "$1/root" pull -q "$ref" >/dev/null; }
t_podman() {
	podman --root "$1/root" --runroot "$1/run" --storage-driver overlay --cgroup-manager cgroupfs \
		pull -q --tls-verify=false "$ref" >/dev/null 2>"$1/podman.err"
}
t_skopeo() {
	skopeo copy -q --src-tls-verify=false "docker://$ref" "oci:$1/oci:bench" &&
		umoci unpack --image "$1/oci:bench" "$1/bundle" >/dev/null
}
t_pipeline() {
	mkdir -p "$1/rootfs"
	for b in $blobs; do
		curl -sf "http://$addr/v2/bench/debian/blobs/$b" | gunzip | tar -x -C "$1/rootfs"
	done
}
after_podman() { podman --root "$1/root" --runroot "$1/run" --storage-driver overlay system reset -f >/dev/null 2>&1 || true; }

tools="skiff pipeline skopeo"
[ "$have_podman" = 1 ] && tools="skiff podman pipeline skopeo"
declare -A times
for i in $(seq "$N"); do
	for tool in $tools; do
		d=$work/run-$tool-$i; mkdir -p "$d"
		sync
		t0=$(now)
		if ! "t_$tool" "$d"; then
			echo "$tool failed on run $i" >&2
			[ -f "$d/podman.err" ] && cat "$d/podman.err" >&2
			[ "$tool" = podman ] && { tools=${tools/podman /}; continue; }
			exit 1
		fi
		t1=$(now)
		times[$tool]+="$(echo "$t1 - $t0" | bc) "
		[ "$tool" = podman ] && after_podman "$d"
		umount -R "$d"/* 2>/dev/null || true
		rm -rf "$d"
	done
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
s=$(echo "${times[skiff]}" | median)
printf '%-22s %8s   %s\n' tool "median s" "runs (s)"
for tool in skiff podman skopeo pipeline; do
	[ -n "${times[$tool]:-}" ] || continue
	m=$(echo "${times[$tool]}" | median)
	name=$tool
	[ $tool = skopeo ] && name="skopeo+umoci"
	[ $tool = pipeline ] && name="curl|gunzip|tar"
	printf '%-22s %8.3f   %s\n' "$name" "$m" "${times[$tool]}"
done
for tool in podman skopeo pipeline; do
	[ -n "${times[$tool]:-}" ] || continue
	m=$(echo "${times[$tool]}" | median)
	printf 'skiff / %-14s %6.2f\n' "$tool" "$(echo "$s / $m" | bc -l)"
done

