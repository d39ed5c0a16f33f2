#!/bin/sh
# restart.sh — how long a restart of litecri keeps its callers waiting: the daemon serves no call
# until startup recovery has looked at every container and pod (src/cri/recover.c).
#
#   bench/restart.sh BUILD CONTAINERS PODS RESTARTS LITECRI...
#
# BUILD: a build directory of this tree (its litecri-bench and bench-image make the objects).  In
# a temporary directory, one daemon (the first LITECRI) gets the tests' busybox
# image and, through `litecri-bench --rpc ContainerStatus --start --keep`, PODS pods holding
# CONTAINERS running containers in all.  The daemon is stopped (SIGTERM; the containers live on
# under conmon) and then each LITECRI in turn, RESTARTS rounds, is started on that database and
# state and stopped again.  One line per start: the daemon's own "recovery:" log line and the
# wall time from its exec to its "ready" line.  At the end a daemon on an empty database removes
# every container, pod and file as recovery removes what no row owns; the directory goes.
# RESTART_LOG=DIR keeps each timed start's daemon log there (e.g. with RESTART_FLAGS="--log-level
# debug", passed to each timed start).  Root, runc and conmon needed; unix sockets only.
set -eu
[ $# -ge 5 ] || { echo "usage: $0 BUILD CONTAINERS PODS RESTARTS LITECRI..." >&2; exit 2; }
B=$(cd "$1" && pwd); N=$2; P=$3; R=$4; shift 4
W=$(mktemp -d /tmp/litecri-restart.XXXXXX)
. "$(dirname "$0")/daemon.sh"
trap 'cleanup "${FIRST:-}"' EXIT
trap 'exit 1' INT TERM HUP

FIRST=$1
setup "$FIRST"
start "$FIRST" "$W/root/litecri.db" "$W/setup.log"
# ten pods at a time (one per bench thread)
pods=0; ctrs=0
while [ "$pods" -lt "$P" ]; do
	p=$((P - pods)); [ "$p" -le 10 ] || p=10
	n=$(( N * (pods + p) / P - ctrs ))
	TMPDIR=$W "$B/litecri-bench" --endpoint "unix://$W/state/litecri.sock" --rpc ContainerStatus \
		--image localhost/bench/busybox:1 --objects "$n" --concurrency "$p" --calls 1 --start --keep \
		--timeout-ms 60000 >/dev/null 2>>"$W/bench.log" || { cat "$W/bench.log" >&2; exit 1; }
	pods=$((pods + p)); ctrs=$((ctrs + n))
done
stop

i=0
while [ "$i" -lt "$R" ]; do
	for bin in "$@"; do
		start "$bin" "$W/root/litecri.db" "$W/run.log" "${RESTART_FLAGS:-}"
		stop
		[ -z "${RESTART_LOG:-}" ] || cp "$W/run.log" "$RESTART_LOG/$i-$(echo "$bin" | tr / _).log"
		line=$(grep -o "recovery: [0-9].*" "$W/run.log" || echo "recovery: (no line)")
		echo "$bin: $line; exec to ready $READY_MS ms"
	done
	i=$((i + 1))
done
