#!/bin/sh
# floor.sh — litecri's fast calls against the floor of the gRPC C core on this machine: the same
# litecri-bench calls, in the same run, alternating, against bench/grpc-floor (a server that
# answers Version with a constant and does nothing else) and against litecri.
#
#   bench/floor.sh BUILD [ROUNDS] [CALLS]
#
# BUILD: a build directory of this tree (litecri, litecri-bench, grpc-floor, bench-image).  In a
# temporary directory: grpc-floor, and litecri on a fresh database with the tests' busybox image
# imported (for ContainerStatus the bench makes one container per run and removes it).  ROUNDS (3)
# rounds of CALLS (20000) calls at concurrency 1 after 500 warmup: Version on the floor, Version
# on litecri, ContainerStatus on litecri.  One line per run, then the p50 ratios of the medians.
# Stops only what it started; removes what it made.  Root, runc and conmon needed.
set -eu
[ $# -ge 1 ] || { echo "usage: $0 BUILD [ROUNDS] [CALLS]" >&2; exit 2; }
B=$(cd "$1" && pwd); R=${2:-3}; N=${3:-20000}
W=$(mktemp -d /tmp/litecri-floor.XXXXXX)
FPID=; DPID=
cleanup() {
	[ -z "$FPID" ] || { kill -TERM "$FPID"; wait "$FPID" || true; }
	[ -z "$DPID" ] || { kill -TERM "$DPID"; wait "$DPID" || true; }
	if grep -q " $W/" /proc/mounts; then
		echo "floor.sh: mounts left under $W: not removed" >&2
		return
	fi
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
mkdir "$W/root" "$W/state" "$W/cni"
: > "$W/litecri.conf"
# pods with a loopback-only network (the CNI loopback plugin), as the tests' daemons
echo '{"cniVersion": "1.0.0", "name": "litecri-floor-lo", "plugins": [{"type": "loopback"}]}' \
	> "$W/cni/99-loopback.conflist"
"$B/bench-image" "$W/layout" localhost/bench/busybox:1
D="--config $W/litecri.conf --db $W/root/litecri.db --root $W/root --state $W/state"
"$B/litecri" image import $D "$W/layout" >/dev/null 2>"$W/import.log"
"$B/grpc-floor" "unix://$W/floor.sock" 2>"$W/floor.log" &
FPID=$!
"$B/litecri" $D --listen "unix://$W/state/litecri.sock" --cni-conf-dir "$W/cni" \
	--cni-bin-dirs /usr/lib/cni 2>"$W/daemon.log" &
DPID=$!
while ! grep -q " ready (pid" "$W/daemon.log" 2>/dev/null || ! [ -S "$W/floor.sock" ]; do
	kill -0 "$DPID" 2>/dev/null || { cat "$W/daemon.log" >&2; DPID=; exit 1; }
	sleep 0.05
done
bench() { # ENDPOINT RPC [ARGS]: one run, its p50
	ep=$1; rpc=$2; shift 2
	line=$(TMPDIR=$W "$B/litecri-bench" --endpoint "unix://$ep" --rpc "$rpc" --calls "$N" --concurrency 1 \
		--warmup 500 "$@")
	echo "$line" >&2
	echo "$line" | sed -n 's/.* p50_us=\([0-9]*\).*/\1/p'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
i=0
: > "$W/floor"; : > "$W/version"; : > "$W/status"
while [ "$i" -lt "$R" ]; do
	bench "$W/floor.sock" Version >> "$W/floor"
	bench "$W/state/litecri.sock" Version >> "$W/version"
	bench "$W/state/litecri.sock" ContainerStatus --image localhost/bench/busybox:1 --objects 1 \
		>> "$W/status"
	i=$((i + 1))
done
f=$(median < "$W/floor"); v=$(median < "$W/version"); s=$(median < "$W/status")
echo "p50_us floor=$f Version=$v ContainerStatus=$s" \
	"Version/floor=$(awk "BEGIN { printf \"%.2f\", $v / $f }")" \
	"ContainerStatus/floor=$(awk "BEGIN { printf \"%.2f\", $s / $f }")"
