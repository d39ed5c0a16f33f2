#!/bin/sh
# lists.sh — ListPodSandbox and ListContainers at scale (kubelet relists every second).
#
#   bench/lists.sh BUILD PODS CONTAINERS ROUNDS CALLS LITECRI...
#
# BUILD: a build directory of this tree (its litecri-bench and bench-image).  In a temporary
# directory the first LITECRI gets the tests' busybox image, and `litecri-bench --rpc
# ContainerStatus --keep` makes one real pod and container; the daemon is stopped and that pod and
# container are copied in SQL (columns, labels, annotations, list entries) up to PODS - 1 pods and
# CONTAINERS - 1 containers, the copies NOTREADY and EXITED (a list reads only the database).  Each
# LITECRI then gets its own copy of that database (a newer binary migrates its own) and, ROUNDS
# rounds, the binaries in turn are started on their copy, timed with `litecri-bench --rpc
# ListPodSandbox` and `--rpc ListContainers` (CALLS calls each, 5 warmup, concurrency 1; the bench
# adds its own pod and container, so the lists hold PODS pods and CONTAINERS containers) and
# stopped; then list-split (BUILD's) times the same calls' raw call (the daemon and the transfer)
# and their decode apart.  Each line is litecri-bench's or list-split's, prefixed with the
# binary (list-split's lists hold one pod and container fewer); with LISTS_LOG=DIR the daemons
# run with --log-level debug and each round's log is kept there (per-call times); LISTS_DB=FILE
# keeps a copy of the database as made (e.g. to time its queries with sqlite3).  At the end a
# daemon on an empty database removes the real pod and container; the directory goes.
# Root, runc and conmon needed; unix sockets only.
set -eu
[ $# -ge 6 ] || { echo "usage: $0 BUILD PODS CONTAINERS ROUNDS CALLS LITECRI..." >&2; exit 2; }
B=$(cd "$1" && pwd); P=$2; N=$3; R=$4; C=$5; shift 5
W=$(mktemp -d /tmp/litecri-lists.XXXXXX)
. "$(dirname "$0")/daemon.sh"
trap 'cleanup "${FIRST:-}"' EXIT
trap 'exit 1' INT TERM HUP

FIRST=$1
DB=$W/root/litecri.db
setup "$FIRST"
start "$FIRST" "$DB" "$W/setup.log"
TMPDIR=$W "$B/litecri-bench" --endpoint "unix://$W/state/litecri.sock" --rpc ContainerStatus \
	--image localhost/bench/busybox:1 --objects 1 --concurrency 1 --calls 1 --keep \
	>/dev/null 2>"$W/bench.log" || { cat "$W/bench.log" >&2; exit 1; }
stop

# Copies k = 1 .. PODS-2 of the pod (IDs printf('%064x', k)) and k = 1 .. CONTAINERS-2 of the
# container (IDs printf('%064x', 1000000 + k)), container k in pod k % (PODS - 1) (0: the real one).
cols() { sqlite3 "$DB" "SELECT group_concat(name, ', ') FROM pragma_table_info('$1')"; }
SB=$(cols sandboxes); CT=$(cols containers)
# the list entries' own tables (migration 0008), when the first binary made them
ENTRIES=
if [ -n "$(cols container_entries)" ]; then
	ENTRIES="INSERT INTO sandbox_entries (sandbox_id, creating, state, created_at, entry)
	SELECT c.id, c.creating, c.state, c.created_at, e.entry FROM sb_copy c, sandbox_entries e
	WHERE e.sandbox_id = (SELECT id FROM sb) ORDER BY c.rowid;
INSERT INTO container_entries (container_id, creating, state, created_at, entry)
	SELECT c.id, c.creating, c.state, c.created_at, e.entry FROM ct_copy c, container_entries e
	WHERE e.container_id = (SELECT id FROM ct) ORDER BY c.rowid;"
fi
sqlite3 "$DB" <<EOF
PRAGMA foreign_keys = ON;
BEGIN;
CREATE TEMP TABLE n (k INTEGER PRIMARY KEY);
WITH RECURSIVE s(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM s WHERE k < max($P, $N))
INSERT INTO n SELECT k FROM s;
CREATE TEMP TABLE sb AS SELECT * FROM sandboxes;
CREATE TEMP TABLE ct AS SELECT * FROM containers;
CREATE TEMP TABLE sb_copy AS SELECT sb.*, n.k AS k FROM sb, n WHERE n.k <= $P - 2;
UPDATE sb_copy SET id = printf('%064x', k), name = name || '-' || k, meta_uid = meta_uid || '-' || k,
	state = 1, pid = 0, netns_path = '', ip = '', network = 0, net_config = '', net_result = '',
	additional_ips = '', finished_at = created_at + 1;
ALTER TABLE sb_copy DROP COLUMN k;
INSERT INTO sandboxes ($SB) SELECT $SB FROM sb_copy;
INSERT INTO sandbox_labels (sandbox_id, key, value)
	SELECT c.id, l.key, l.value FROM sb_copy c, sandbox_labels l WHERE l.sandbox_id = (SELECT id FROM sb);
INSERT INTO sandbox_annotations (sandbox_id, key, value)
	SELECT c.id, a.key, a.value FROM sb_copy c, sandbox_annotations a WHERE a.sandbox_id = (SELECT id FROM sb);
CREATE TEMP TABLE ct_copy AS SELECT ct.*, n.k AS k FROM ct, n WHERE n.k <= $N - 2;
UPDATE ct_copy SET id = printf('%064x', 1000000 + k), name = name || '-' || k,
	sandbox_id = CASE WHEN k % ($P - 1) = 0 THEN sandbox_id ELSE printf('%064x', k % ($P - 1)) END,
	state = 2, pid = 0, started_at = created_at + 1, finished_at = created_at + 2, exit_code = 0,
	reason = 'Completed';
ALTER TABLE ct_copy DROP COLUMN k;
INSERT INTO containers ($CT) SELECT $CT FROM ct_copy;
INSERT INTO container_labels (container_id, key, value)
	SELECT c.id, l.key, l.value FROM ct_copy c, container_labels l WHERE l.container_id = (SELECT id FROM ct);
INSERT INTO container_annotations (container_id, key, value)
	SELECT c.id, a.key, a.value FROM ct_copy c, container_annotations a WHERE a.container_id = (SELECT id FROM ct);
INSERT INTO container_layers (container_id, position, chain_id)
	SELECT c.id, l.position, l.chain_id FROM ct_copy c, container_layers l WHERE l.container_id = (SELECT id FROM ct);
$ENTRIES
COMMIT;
EOF
echo "lists.sh: $(sqlite3 "$DB" "SELECT (SELECT count(*) FROM sandboxes) || ' pods, ' || (SELECT count(*) FROM containers) || ' containers'") in the database (+1 each from the bench)"

[ -z "${LISTS_DB:-}" ] || cp "$DB" "$LISTS_DB"
i=0
for bin in "$@"; do
	cp "$DB" "$W/root/db$i.db"
	i=$((i + 1))
done
r=0
while [ "$r" -lt "$R" ]; do
	i=0
	for bin in "$@"; do
		start "$bin" "$W/root/db$i.db" "$W/run.log" "${LISTS_LOG:+--log-level debug}"
		for rpc in ListPodSandbox ListContainers; do
			line=$(TMPDIR=$W "$B/litecri-bench" --endpoint "unix://$W/state/litecri.sock" --rpc $rpc \
				--image localhost/bench/busybox:1 --objects 1 --concurrency 1 --calls "$C" --warmup 5 \
				2>>"$W/bench.log") || { cat "$W/bench.log" >&2; exit 1; }
			echo "$bin: $line"
		done
		for rpc in ListPodSandbox ListContainers; do
			echo "$bin: $("$B/list-split" "unix://$W/state/litecri.sock" $rpc "$C")"
		done
		stop
		[ -z "${LISTS_LOG:-}" ] || cp "$W/run.log" "$LISTS_LOG/$r-$i.log"
		i=$((i + 1))
	done
	r=$((r + 1))
done
