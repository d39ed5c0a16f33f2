# shellcheck shell=sh
# daemon.sh — sourced by bench/restart.sh and bench/lists.sh: litecri daemons on a temporary
# directory W (set by the caller, as B: a build directory of this tree), one at a time, with the
# tests' busybox image and a loopback-only CNI config (pods need a network config since CNI).
# Unix sockets only.
DPID=
NAME=$(basename "$0")

# stop: SIGTERM the running daemon, if any, and wait for it.
stop() {
	[ -n "$DPID" ] || return 0
	kill -TERM "$DPID"
	wait "$DPID" || true
	DPID=
}

# start BIN DB LOG [FLAGS]: the daemon in the background, back once it logged "ready" (READY_MS:
# since its exec).
start() {
	rm -f "$3" # not an older daemon's "ready"
	t0=$(date +%s%N)
	# shellcheck disable=SC2086 # FLAGS: words on purpose
	"$1" --config "$W/litecri.conf" --listen "unix://$W/state/litecri.sock" --db "$2" --root "$W/root" \
		--state "$W/state" --cni-conf-dir "$W/cni" --cni-bin-dirs /usr/lib/cni --pause "$B/litecri-pause" \
		${4:-} 2>"$3" &
	DPID=$!
	while ! grep -q " ready (pid" "$3" 2>/dev/null; do
		kill -0 "$DPID" 2>/dev/null || { cat "$3" >&2; DPID=; return 1; }
		sleep 0.01
	done
	# shellcheck disable=SC2034 # read by the caller
	READY_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
}

# cleanup [BIN]: stop; the databases go, and BIN started on an empty one removes every container,
# pod and file as recovery removes what no row owns (after "ready", on its reaper: waited for);
# then the directory goes.
cleanup() {
	stop
	rm -f "$W"/root/*.db "$W"/root/*.db-wal "$W"/root/*.db-shm
	if [ -n "${1:-}" ] && start "$1" "$W/root/litecri.db" "$W/cleanup.log"; then
		while ! grep -q "recovery: the work left to the background is done" "$W/cleanup.log" &&
			kill -0 "$DPID" 2>/dev/null; do
			sleep 0.05
		done
		stop
	fi
	if grep -q " $W/" /proc/mounts; then
		echo "$NAME: mounts left under $W: not removed" >&2
		return
	fi
	rm -rf "$W"
}

# setup BIN: W's directories and config, and the image imported by BIN into $W/root/litecri.db.
setup() {
	mkdir "$W/root" "$W/state" "$W/cni"
	: > "$W/litecri.conf"
	echo '{"cniVersion": "1.0.0", "name": "litecri-bench-lo", "plugins": [{"type": "loopback"}]}' \
		> "$W/cni/99-loopback.conflist"
	"$B/bench-image" "$W/layout" localhost/bench/busybox:1
	"$1" image import --config "$W/litecri.conf" --db "$W/root/litecri.db" --root "$W/root" \
		--state "$W/state" "$W/layout" >/dev/null 2>"$W/import.log"
}
