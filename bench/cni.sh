#!/bin/sh
# cni.sh — what CNI networking adds to RunPodSandbox: litecri-bench --rpc RunPodSandbox against a
# daemon whose network is a bridge (bridge + host-local, portmap, bandwidth), alternating with one
# whose network is loopback only, ROUNDS times each, on the same database and state.
#
#   bench/cni.sh BUILD CALLS ROUNDS [CONCURRENCY]
#
# BUILD: a build directory of this tree (its litecri and litecri-bench).  Issue 14's rules for test
# networks: the bridge is this script's own (lcbh<random>), made here with the gateway address
# 169.254.99.1/24, and the plugin only attaches the pods to it (isGateway false: the bridge plugin's
# isGateway would turn on the host's ip_forward); subnet 169.254.99.0/24, leases in the temporary
# directory, no ipMasq, no routes, no hostPorts.  At the end the bridge and the directory go, and
# ip_forward is checked unchanged (exit 1 if not).  Root, runc, conmon and /usr/lib/cni needed.
set -eu
[ $# -ge 3 ] || { echo "usage: $0 BUILD CALLS ROUNDS [CONCURRENCY]" >&2; exit 2; }
B=$(cd "$1" && pwd); CALLS=$2; ROUNDS=$3; CONC=${4:-1}
W=$(mktemp -d /tmp/litecri-cni.XXXXXX)
BR=lcbh$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')
FWD=$(cat /proc/sys/net/ipv4/ip_forward)
DPID=
cleanup() {
	[ -z "$DPID" ] || { kill -TERM "$DPID"; wait "$DPID" || true; }
	ip link del "$BR" 2>/dev/null || true
	if grep -q " $W/" /proc/mounts; then echo "cni.sh: mounts left under $W: not removed" >&2; else rm -rf "$W"; fi
	[ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$FWD" ] || { echo "cni.sh: ip_forward changed" >&2; exit 1; }
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
mkdir "$W/root" "$W/state" "$W/lo" "$W/br" "$W/ipam"
: > "$W/litecri.conf"
echo '{"cniVersion": "1.0.0", "name": "lo", "plugins": [{"type": "loopback"}]}' > "$W/lo/10-lo.conflist"
cat > "$W/br/10-br.conflist" <<END
{"cniVersion": "1.0.0", "name": "benchbr", "plugins": [
 {"type": "bridge", "bridge": "$BR", "isGateway": false, "ipMasq": false, "hairpinMode": true,
  "ipam": {"type": "host-local", "ranges": [[{"subnet": "169.254.99.0/24", "gateway": "169.254.99.1"}]],
           "dataDir": "$W/ipam"}},
 {"type": "portmap", "capabilities": {"portMappings": true}},
 {"type": "bandwidth", "capabilities": {"bandwidth": true}}]}
END
ip link add name "$BR" type bridge
ip addr add 169.254.99.1/24 dev "$BR"
ip link set "$BR" up
# bench CONFDIR LABEL: a daemon with that network, the bench, the daemon stopped
bench() {
	log="$W/daemon.$2.$r.log"
	"$B/litecri" --config "$W/litecri.conf" --listen "unix://$W/state/litecri.sock" --db "$W/root/litecri.db" \
		--root "$W/root" --state "$W/state" --cni-conf-dir "$1" --cni-bin-dirs /usr/lib/cni 2>"$log" &
	DPID=$!
	while ! grep -q " ready (pid" "$log" 2>/dev/null; do
		kill -0 "$DPID" 2>/dev/null || { cat "$log" >&2; DPID=; exit 1; }
		sleep 0.05
	done
	printf 'network=%s ' "$2"
	"$B/litecri-bench" --endpoint "unix://$W/state/litecri.sock" --rpc RunPodSandbox --calls "$CALLS" \
		--concurrency "$CONC" --warmup 4 | tail -1
	kill -TERM "$DPID"
	wait "$DPID" || true
	DPID=
}
r=1
while [ "$r" -le "$ROUNDS" ]; do
	bench "$W/lo" loopback
	bench "$W/br" bridge
	left=$(ls "$W/ipam/benchbr" 2>/dev/null | grep -c '^169\.' || true)
	veths=$(ip -o link show master "$BR" | wc -l)
	[ "$left" -eq 0 ] && [ "$veths" -eq 0 ] || { echo "cni.sh: $left leases and $veths veths left" >&2; exit 1; }
	r=$((r + 1))
done
