-- 0006_events: the container event history (docs/events.md).
--   * events: one row per container state change, written by the triggers below in the very
--     statement (so the transaction) that changes the container's row — a change that rolls back
--     leaves no event, and every writer (CreateContainer, StartContainer, the exit watcher,
--     StopContainer, recovery at startup, RemoveContainer) is covered.  seq is the commit order
--     (writes are serialized by SQLite's write lock) and never reused (AUTOINCREMENT):
--     GetContainerEvents streams the rows after the last one it sent.  kind is the CRI
--     ContainerEventType: 0 CREATED (the create recorded), 1 STARTED (RUNNING), 2 STOPPED (EXITED:
--     an exit, a failed start), 3 DELETED (a created container's row deleted).  at: the row's own
--     time of that change (created_at, started_at, finished_at), the commit's for DELETED.  The
--     object's names are copied: the history outlives the rows.  exit_code and reason: STOPPED
--     only.
--   * a pod sandbox's changes are events too (as containerd sends them: kubelet's evented PLEG
--     notices a pod's infra exit by them), with container_id = the sandbox's ID and container =
--     '': CREATED and STARTED when RunPodSandbox commits (the pod is READY then), STOPPED when it
--     becomes NOTREADY (StopPodSandbox, its infra process' exit, recovery), DELETED when a
--     created pod's row goes.
--   * host key 'events_retain': how many rows are kept (the daemon writes [events] retain at
--     startup); each insert deletes the rows that many before it.  No key: nothing is pruned.
--   * events_v: the rows with ISO times and kind names.

CREATE TABLE events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    at           INTEGER NOT NULL,                   -- ns since the epoch
    kind         INTEGER NOT NULL CHECK (kind IN (0, 1, 2, 3)),
    container_id TEXT    NOT NULL,
    container    TEXT    NOT NULL,                   -- metadata name
    attempt      INTEGER NOT NULL,
    sandbox_id   TEXT    NOT NULL,
    pod          TEXT    NOT NULL,                   -- the pod's metadata name
    namespace    TEXT    NOT NULL,
    exit_code    INTEGER,                            -- STOPPED only
    reason       TEXT                                -- STOPPED only: Completed, Error, OOMKilled, StartError
);

CREATE TRIGGER events_created AFTER UPDATE OF creating ON containers
WHEN OLD.creating = 1 AND NEW.creating = 0
BEGIN
    INSERT INTO events (at, kind, container_id, container, attempt, sandbox_id, pod, namespace)
    SELECT NEW.created_at, 0, NEW.id, NEW.meta_name, NEW.meta_attempt, NEW.sandbox_id, s.meta_name, s.meta_namespace
    FROM sandboxes s WHERE s.id = NEW.sandbox_id;
END;

CREATE TRIGGER events_started AFTER UPDATE OF state ON containers
WHEN NEW.creating = 0 AND OLD.state <> 1 AND NEW.state = 1
BEGIN
    INSERT INTO events (at, kind, container_id, container, attempt, sandbox_id, pod, namespace)
    SELECT NEW.started_at, 1, NEW.id, NEW.meta_name, NEW.meta_attempt, NEW.sandbox_id, s.meta_name, s.meta_namespace
    FROM sandboxes s WHERE s.id = NEW.sandbox_id;
END;

CREATE TRIGGER events_stopped AFTER UPDATE OF state ON containers
WHEN NEW.creating = 0 AND OLD.state <> 2 AND NEW.state = 2
BEGIN
    INSERT INTO events (at, kind, container_id, container, attempt, sandbox_id, pod, namespace, exit_code, reason)
    SELECT NEW.finished_at, 2, NEW.id, NEW.meta_name, NEW.meta_attempt, NEW.sandbox_id, s.meta_name, s.meta_namespace,
           NEW.exit_code, NEW.reason
    FROM sandboxes s WHERE s.id = NEW.sandbox_id;
END;

CREATE TRIGGER events_deleted AFTER DELETE ON containers
WHEN OLD.creating = 0
BEGIN
    INSERT INTO events (at, kind, container_id, container, attempt, sandbox_id, pod, namespace)
    SELECT CAST(round((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER) * 1000000, 3, OLD.id, OLD.meta_name,
           OLD.meta_attempt, OLD.sandbox_id, s.meta_name, s.meta_namespace
    FROM sandboxes s WHERE s.id = OLD.sandbox_id;
END;

CREATE TRIGGER events_pod_created AFTER UPDATE OF creating ON sandboxes
WHEN OLD.creating = 1 AND NEW.creating = 0
BEGIN
    INSERT INTO events (at, kind, container_id, container, attempt, sandbox_id, pod, namespace)
    VALUES (NEW.created_at, 0, NEW.id, '', NEW.meta_attempt, NEW.id, NEW.meta_name, NEW.meta_namespace);
    INSERT INTO events (at, kind, container_id, container, attempt, sandbox_id, pod, namespace)
    SELECT NEW.created_at, 1, NEW.id, '', NEW.meta_attempt, NEW.id, NEW.meta_name, NEW.meta_namespace
    WHERE NEW.state = 0;
END;

CREATE TRIGGER events_pod_stopped AFTER UPDATE OF state ON sandboxes
WHEN NEW.creating = 0 AND OLD.state = 0 AND NEW.state = 1
BEGIN
    INSERT INTO events (at, kind, container_id, container, attempt, sandbox_id, pod, namespace)
    VALUES (NEW.finished_at, 2, NEW.id, '', NEW.meta_attempt, NEW.id, NEW.meta_name, NEW.meta_namespace);
END;

CREATE TRIGGER events_pod_deleted AFTER DELETE ON sandboxes
WHEN OLD.creating = 0
BEGIN
    INSERT INTO events (at, kind, container_id, container, attempt, sandbox_id, pod, namespace)
    VALUES (CAST(round((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER) * 1000000, 3, OLD.id, '',
            OLD.meta_attempt, OLD.id, OLD.meta_name, OLD.meta_namespace);
END;

CREATE TRIGGER events_prune AFTER INSERT ON events
BEGIN
    DELETE FROM events WHERE seq <= NEW.seq - (SELECT CAST(value AS INTEGER) FROM host WHERE key = 'events_retain');
END;

CREATE VIEW events_v AS
SELECT seq,
       strftime('%Y-%m-%dT%H:%M:%S', at / 1000000000, 'unixepoch') || printf('.%09dZ', at % 1000000000) AS time,
       CASE kind WHEN 0 THEN 'CREATED' WHEN 1 THEN 'STARTED' WHEN 2 THEN 'STOPPED' WHEN 3 THEN 'DELETED'
                 ELSE 'INVALID' END AS kind,
       namespace, pod, container, attempt, exit_code, reason, container_id, sandbox_id
FROM events;
