#!/bin/bash
# compare.sh — litecri beside Debian's containerd (1.6, its CRI plugin, runc): the same
# litecri-bench calls against both in one run, alternating, and a table of the p50s and ratios.
#
#   bench/compare.sh BUILD [ROUNDS]
#
# BUILD: a build directory of this tree (litecri, litecri-bench, litecri-pause, bench-image).
# Everything runs in a network namespace of its own with only loopback up (the script re-executes
# itself under `unshare --net`), in one temporary directory: the tests' registry (Debian's
# docker-registry on 127.0.0.1, started by `bench-image --registry`) holding the tests' busybox
# image and a pause image made from the build's litecri-pause; containerd with its own config,
# root, state and socket; litecri with its own database, root, state and socket.  Both fetch every
# image from that registry: containerd through config_path (a hosts.toml for the names used and a
# `_default` one, each with the registry as server and as its one [host] table), litecri through
# its `*` mirror with `upstream = false`.  The image names are under litecri-bench.invalid, a name
# that never resolves.  Before the timed rounds both daemons are traced (strace, connect/sendto)
# while they pull and run one pod cycle: any address other than 127.0.0.1/::1 stops the run.
#
# Pods use the node's (here: the namespace's) network for both runtimes (--host-network; the
# loopback-only CNI config is there for the daemons' status).  ROUNDS (default 3) rounds, the
# runtimes' order swapped every round; the table gives the median of the rounds' p50s and the
# ratio litecri / containerd.  Stops only what it started (by PID); removes containers, pods,
# mounts and the directory, also on an error or SIGINT/SIGTERM/SIGHUP.  Root needed, and
# containerd, runc, conmon, strace, unshare, ip, docker-registry (apt-get install containerd:
# never start it through systemd here).  COMPARE_LOGS=DIR keeps the daemons' logs and the traces
# there.
set -euo pipefail
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 BUILD [ROUNDS]" >&2
	exit 2
fi
B=$(cd "$1" && pwd)
R=${2:-3}
case $R in '' | *[!0-9]*) echo "compare.sh: ROUNDS must be a number" >&2; exit 2 ;; esac
for t in containerd containerd-shim-runc-v2 ctr runc conmon strace unshare ip docker-registry; do
	command -v "$t" >/dev/null || { echo "compare.sh: $t not found" >&2; exit 1; }
done
for t in litecri litecri-bench litecri-pause bench-image; do
	[ -x "$B/$t" ] || { echo "compare.sh: $B/$t not built" >&2; exit 1; }
done

# A network namespace with loopback only: nothing here can reach another host.
if [ "${COMPARE_NETNS:-}" != "$$" ]; then
	COMPARE_NETNS=$$ exec unshare --net -- "$0" "$@"
fi
ip link set lo up
if [ "$(ip -o link show | wc -l)" -ne 1 ]; then
	echo "compare.sh: the network namespace has more than loopback" >&2
	exit 1
fi

W=$(mktemp -d /tmp/litecri-compare.XXXXXX)
# containerd 1.6's shims put their sockets in /run/containerd/s, whatever the config says
RUNCD=''
[ -e /run/containerd ] || RUNCD=/run/containerd
NAME=litecri-bench.invalid # the images' registry name: served by the local registry only
BUSYBOX=$NAME/litecri-bench/busybox:1
PAUSE=$NAME/litecri-bench/pause:1
RPID='' CPID='' LPID='' BPID='' SPIDS='' REGDIR=''

# stop PID: SIGTERM, then wait for it (it is our child)
stop() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
# ours DIR: PIDs of processes (not this shell) whose command line names DIR/
ours() {
	local p
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" != "$$" ] || continue
		tr "\\0" " " 2>/dev/null < "/proc/$p/cmdline" | grep -q -- "$1/" && echo "$p"
	done
	return 0
}
cleanup() {
	local rc=$? p m left
	trap - EXIT INT TERM HUP
	stop "$BPID" # the bench removes what it made before it exits
	for p in $SPIDS; do kill -INT "$p" 2>/dev/null || true; done
	# containers and pods the bench could not remove: containerd's through ctr, before it stops
	if [ -n "$CPID" ] && kill -0 "$CPID" 2>/dev/null; then
		for p in $(ctr -a "$W/cd/containerd.sock" -n k8s.io tasks ls -q 2>/dev/null); do
			ctr -a "$W/cd/containerd.sock" -n k8s.io tasks kill -s SIGKILL "$p" >/dev/null 2>&1 || true
			ctr -a "$W/cd/containerd.sock" -n k8s.io tasks rm -f "$p" >/dev/null 2>&1 || true
		done
		for p in $(ctr -a "$W/cd/containerd.sock" -n k8s.io containers ls -q 2>/dev/null); do
			ctr -a "$W/cd/containerd.sock" -n k8s.io containers rm "$p" >/dev/null 2>&1 || true
		done
	fi
	stop "$CPID"
	stop "$LPID"
	# litecri's: a daemon on an empty database removes every container and pod no row owns
	if [ -n "$LPID" ] && [ -n "$(ours "$W/lc")" ]; then
		LPID=
		# its recovery sweeps the orphans on its reaper after "ready": waited for
		litecri_start "$W/lc/empty.db" "$W/lc/sweep.log" &&
			wait_for "$W/lc/sweep.log" "recovery: the work left to the background is done" "$LPID" \
				"$W/lc/sweep.log" && stop "$LPID"
	fi
	if [ -n "${COMPARE_LOGS:-}" ]; then
		cp "$W"/lc/*.log "$W"/cd/containerd.log "$W"/strace.* "$COMPARE_LOGS"/ 2>/dev/null || true
		[ -z "$REGDIR" ] || cp "$REGDIR/registry.log" "$COMPARE_LOGS"/ 2>/dev/null || true
	fi
	stop "$RPID"
	left=$(ours "$W")
	if [ -n "$left" ]; then
		echo "compare.sh: killing what is left of the run: $(echo "$left" | tr '\n' ' ')" >&2
		for p in $left; do kill -KILL "$p" 2>/dev/null || true; done
		rc=1
	fi
	while read -r m; do
		echo "compare.sh: unmounting what is left of the run: $m" >&2
		umount "$m" 2>/dev/null || umount -l "$m" || true
		rc=1
	done < <(awk -v w="$W/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r)
	if grep -q " $W/" /proc/mounts; then
		echo "compare.sh: mounts left under $W: not removed" >&2
		exit 1
	fi
	rm -rf "$W"
	[ -z "$RUNCD" ] || rmdir "$RUNCD/s" "$RUNCD" 2>/dev/null || true
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# wait_for FILE PATTERN PID LOG: until FILE holds PATTERN, while PID lives (else LOG and fail)
wait_for() {
	local i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		if ! kill -0 "$3" 2>/dev/null || [ $i -gt 1200 ]; then
			echo "compare.sh: $4 did not start:" >&2
			tail -20 "$4" >&2
			return 1
		fi
		sleep 0.05
		i=$((i + 1))
	done
}

mkdir "$W/cni" "$W/lc" "$W/cd" "$W/cd/certs.d" "$W/out"
echo '{"cniVersion": "1.0.0", "name": "litecri-compare-lo", "plugins": [{"type": "loopback"}]}' \
	> "$W/cni/99-loopback.conflist"

# the registry (its own session: a terminal's SIGINT goes to this script and the bench only)
setsid "$B/bench-image" --registry "$B/litecri-pause" litecri-bench > "$W/registry.addr" 2> "$W/registry.err" &
RPID=$!
wait_for "$W/registry.addr" "^127\.0\.0\.1:" "$RPID" "$W/registry.err"
read -r REG REGDIR < "$W/registry.addr"

# containerd: every registry name to the local registry (hosts.toml per name and _default)
for h in "$NAME" _default; do
	mkdir "$W/cd/certs.d/$h"
	printf 'server = "http://%s"\n\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' \
		"$REG" "$REG" > "$W/cd/certs.d/$h/hosts.toml"
done
cat > "$W/cd/config.toml" << END
version = 2
root = "$W/cd/root"
state = "$W/cd/state"
[grpc]
  address = "$W/cd/containerd.sock"
[ttrpc]
  address = "$W/cd/containerd.sock.ttrpc"
[debug]
  address = ""
  level = "info"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$W/cd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        Root = "$W/cd/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$W/cni"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$W/cd/certs.d"
END
setsid containerd --config "$W/cd/config.toml" > "$W/cd/containerd.log" 2>&1 &
CPID=$!
wait_for "$W/cd/containerd.log" "containerd successfully booted" "$CPID" "$W/cd/containerd.log"

# litecri: every registry through the `*` mirror, upstream never
printf '[registry "*"]\nmirror = http://%s insecure\nupstream = false\n' "$REG" > "$W/lc/litecri.conf"
# litecri_start DB LOG: a daemon on that database, back once it is ready
litecri_start() {
	setsid "$B/litecri" --config "$W/lc/litecri.conf" --listen "unix://$W/lc/litecri.sock" --db "$1" \
		--root "$W/lc/root" --state "$W/lc/state" --cni-conf-dir "$W/cni" \
		--cni-bin-dirs /usr/lib/cni 2> "$2" &
	LPID=$!
	wait_for "$2" " ready (pid" "$LPID" "$2"
}
litecri_start "$W/lc/litecri.db" "$W/lc/litecri.log"

# endpoint RUNTIME
endpoint() {
	if [ "$1" = litecri ]; then echo "unix://$W/lc/litecri.sock"; else echo "unix://$W/cd/containerd.sock"; fi
}

# bench RUNTIME RPC ARGS...: one litecri-bench run, its output appended to $W/out/RUNTIME; fails
# with the bench.  In the background and its own session: a signal reaches the script at once
# and the bench once, from cleanup (a second signal would make it exit without removing)
bench() {
	local rt=$1
	shift
	TMPDIR=$W setsid "$B/litecri-bench" --endpoint "$(endpoint "$rt")" --concurrency 1 --rpc "$@" > "$W/out/last" 2> "$W/out/err" &
	BPID=$!
	if ! wait "$BPID"; then
		BPID=
		echo "compare.sh: litecri-bench against $rt failed: --rpc $*" >&2
		cat "$W/out/err" >&2
		return 1
	fi
	BPID=
	cat "$W/out/last" >> "$W/out/$rt"
}
# p50 KEY LINE-PREFIX: the p50 of the last line starting with LINE-PREFIX, recorded as KEY
p50() {
	local v
	v=$(grep "^$2" "$W/out/last" | tail -1 | sed -n 's/.* p50_us=\([0-9]*\).*/\1/p')
	[ -n "$v" ] || { echo "compare.sh: no p50 for $1" >&2; return 1; }
	echo "$RT $1 $v" >> "$W/results"
}

# The network check: both daemons traced while they pull both images and run one pod cycle.
# Every connect/sendto address must be 127.0.0.1 or ::1, and the registry must have been reached.
for rt in containerd litecri; do
	pid=$CPID
	[ "$rt" = containerd ] || pid=$LPID
	strace -f -qq -e trace=connect,sendto,sendmsg -o "$W/strace.$rt" -p "$pid" 2> "$W/strace.$rt.err" &
	SPIDS="$SPIDS $!"
	i=0
	until grep -q "^TracerPid:[[:space:]]*[1-9]" "/proc/$pid/status"; do
		[ $i -lt 200 ] || { echo "compare.sh: strace did not attach to $rt" >&2; exit 1; }
		sleep 0.05
		i=$((i + 1))
	done
done
sleep 0.5 # strace attaches the other threads after the first
for rt in containerd litecri; do
	bench "$rt" PullImage --image "$PAUSE" --calls 1
	bench "$rt" PullImage --image "$BUSYBOX" --calls 1
	bench "$rt" lifecycle --image "$BUSYBOX" --calls 1 --host-network
done
for p in $SPIDS; do kill -INT "$p"; wait "$p" || true; done
SPIDS=
for rt in containerd litecri; do
	bad=$(grep -o 'inet_addr("[^"]*")\|inet_pton(AF_INET6, "[^"]*"' "$W/strace.$rt" |
		grep -v '"127\.0\.0\.1"\|"::1"' | sort -u || true)
	if [ -n "$bad" ]; then
		echo "compare.sh: $rt tried to reach another address: $(echo "$bad" | tr '\n' ' ')" >&2
		exit 1
	fi
	grep -q "htons(${REG#*:}), sin_addr=inet_addr(\"127.0.0.1\")" "$W/strace.$rt" ||
		{ echo "compare.sh: the trace of $rt saw no connection to the registry" >&2; exit 1; }
	echo "network check: $rt connected to 127.0.0.1 only ($(grep -c 'connect(' "$W/strace.$rt") connects traced)"
done
echo "registry requests: $(grep -c 'GET /v2/litecri-bench/pause/manifests' "$REGDIR/registry.log") pause manifest GETs," \
	"$(grep -c 'GET /v2/litecri-bench/busybox/manifests' "$REGDIR/registry.log") busybox manifest GETs"
: > "$W/out/containerd"
: > "$W/out/litecri"

# one round for runtime RT
round() {
	RT=$1
	# a first pull (the image removed before it; nothing of it left on the runtime), then pulls of
	# the present image
	for _ in 1 2 3; do
		bench "$RT" RemoveImage --image "$BUSYBOX" --calls 1
		bench "$RT" PullImage --image "$BUSYBOX" --calls 1
		p50 "PullImage (first, 1 MB layer)" rpc=PullImage
	done
	bench "$RT" PullImage --image "$BUSYBOX" --calls 100 --warmup 5
	p50 "PullImage (present)" rpc=PullImage
	bench "$RT" lifecycle --image "$BUSYBOX" --calls 20 --warmup 2 --host-network
	for s in RunPodSandbox CreateContainer StartContainer StopContainer RemoveContainer StopPodSandbox \
		RemovePodSandbox; do
		p50 "$s" "step=$s "
	done
	p50 "lifecycle: the 7 calls above" rpc=lifecycle
	bench "$RT" ListContainers --image "$BUSYBOX" --objects 100 --calls 500 --warmup 20 --host-network
	p50 "ListContainers, 100" rpc=ListContainers
	bench "$RT" ListPodSandbox --image "$BUSYBOX" --objects 100 --calls 500 --warmup 20 --host-network
	p50 "ListPodSandbox, 100" rpc=ListPodSandbox
	bench "$RT" ContainerStatus --image "$BUSYBOX" --objects 1 --calls 2000 --warmup 100 --host-network
	p50 ContainerStatus rpc=ContainerStatus
	bench "$RT" Version --calls 5000 --warmup 200
	p50 Version rpc=Version
}
: > "$W/results"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 1; r <= R; r++)); do
	if [ $((r % 2)) -eq 1 ]; then order="litecri containerd"; else order="containerd litecri"; fi
	for rt in $order; do
		echo "round $r: $rt" >&2
		round "$rt"
	done
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)

# The table: medians of the rounds' p50s; StopPodSandbox + RemovePodSandbox summed per run.
awk '
	{ rt = $1; v = $NF; $1 = ""; $NF = ""; key = substr($0, 2, length($0) - 2); print rt "\t" key "\t" v }
	key == "StopPodSandbox" { stop[rt] = v }
	key == "RemovePodSandbox" { print rt "\tStopPodSandbox + RemovePodSandbox\t" stop[rt] + v }
' "$W/results" > "$W/rows"
# a first pull fetches the config and the layer: 2 * (1 + 3 * ROUNDS) blobs sent to each runtime
for ua in litecri containerd; do
	n=$(grep '"GET /v2/litecri-bench/busybox/blobs/sha256:[0-9a-f]*[^ ]* HTTP/1.1" 200 ' "$REGDIR/registry.log" |
		grep -c "\"$ua/" || true)
	echo "registry: $n busybox blobs sent to $ua ($((2 * (1 + 3 * R))) if every first pull fetched config and layer)"
done
echo
echo "$("$B/litecri" --version 2>&1 | head -1); containerd $(containerd --version | cut -d" " -f3); runc $(runc --version | sed -n 's/^runc version //p'); $(conmon --version | head -1)"
echo "$R rounds, alternating; load average before $load0, after $load1"
echo "each cell: the median of the rounds' p50s (their range); ratio: litecri / containerd, of the medians"
echo
echo "| call | litecri p50 | containerd p50 | ratio |"
echo "|---|---|---|---|"
awk -F'\t' '
	function fmt(us) { return us >= 1000 ? sprintf("%.1f ms", us / 1000) : sprintf("%d µs", us) }
	# the median (also left in med) of the p50s of rt and key, then their range
	function cell(rt, key,   n, i, j, t) {
		n = cnt[rt, key]
		for (i = 1; i <= n; i++) s[i] = val[rt, key, i] + 0
		for (i = 2; i <= n; i++) for (j = i; j > 1 && s[j - 1] > s[j]; j--) { t = s[j]; s[j] = s[j - 1]; s[j - 1] = t }
		med = n % 2 ? s[(n + 1) / 2] : (s[n / 2] + s[n / 2 + 1]) / 2
		return n > 1 ? fmt(med) " (" fmt(s[1]) "–" fmt(s[n]) ")" : fmt(med)
	}
	{ if (!(($2) in seen)) { seen[$2] = 1; order[++keys] = $2 } val[$1, $2, ++cnt[$1, $2]] = $3 }
	END {
		for (k = 1; k <= keys; k++) {
			key = order[k]; l = cell("litecri", key); lm = med; c = cell("containerd", key); cm = med
			printf "| %s | %s | %s | %.2f× |\n", key, l, c, (cm > 0 ? lm / cm : 0)
		}
	}
' "$W/rows"
