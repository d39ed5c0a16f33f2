-- schema/schema.sql — the litecri database schema as it stands after every migration in
-- migrations/ (schema version 8).  Documentation for operators: the daemon never runs this file;
-- it applies migrations/NNNN_*.sql.  tests/unit/test_store.c proves that this file and the
-- migrations produce the same schema (compared statement by statement, comments and white space
-- aside): a migration that changes the schema must change this file in the same commit.
--
-- Inspect a live node:   sqlite3 -readonly /var/lib/litecri/litecri.db 'SELECT * FROM containers_v'
--
-- Conventions:
--   * ids are the 64-hex-digit object ids; names are the CRI "reserved names" and UNIQUE, so the
--     UNIQUE index *is* the name reservation: deleting the row releases the name.
--   * states are the CRI enum numbers (PodSandboxState, ContainerState); flags are 0/1 integers
--     set by one conditional UPDATE when an operation starts and cleared when it ends.
--   * times are nanoseconds since the Unix epoch, 0 = not set (the CRI convention).
--   * `config` is the CRI request config, protobuf-encoded exactly as received;
--     `config_digest` is the SHA-256 of it, used to recognise a retried identical request.

PRAGMA user_version = 8;

CREATE TABLE sandboxes (
    id              TEXT    NOT NULL PRIMARY KEY
                            CHECK (length(id) = 64 AND id NOT GLOB '*[^0-9a-f]*'),
    name            TEXT    NOT NULL UNIQUE,          -- reserved name: name_namespace_uid_attempt
    meta_name       TEXT    NOT NULL,
    meta_namespace  TEXT    NOT NULL,
    meta_uid        TEXT    NOT NULL,
    meta_attempt    INTEGER NOT NULL DEFAULT 0 CHECK (meta_attempt >= 0),
    state           INTEGER NOT NULL DEFAULT 1        -- 0 SANDBOX_READY, 1 SANDBOX_NOTREADY
                            CHECK (state IN (0, 1)),
    creating        INTEGER NOT NULL DEFAULT 1 CHECK (creating IN (0, 1)),  -- RunPodSandbox in flight
    stopping        INTEGER NOT NULL DEFAULT 0 CHECK (stopping IN (0, 1)),  -- StopPodSandbox in flight
    removing        INTEGER NOT NULL DEFAULT 0 CHECK (removing IN (0, 1)),  -- RemovePodSandbox in flight
    created_at      INTEGER NOT NULL DEFAULT 0,
    finished_at     INTEGER NOT NULL DEFAULT 0,       -- when it became NOTREADY after READY
    runtime_handler TEXT    NOT NULL DEFAULT '',
    pid             INTEGER NOT NULL DEFAULT 0,       -- infra (pause) process, 0 = none
    netns_path      TEXT    NOT NULL DEFAULT '',      -- pinned network namespace, '' = host
    ip              TEXT    NOT NULL DEFAULT '',
    log_directory   TEXT    NOT NULL DEFAULT '',
    reason          TEXT    NOT NULL DEFAULT '',
    message         TEXT    NOT NULL DEFAULT '',
    config          BLOB    NOT NULL,
    config_digest   TEXT    NOT NULL,
    network         INTEGER NOT NULL DEFAULT 0        -- CNI attachment: 0 NONE, 1 ADDING (ADD in
                            CHECK (network IN (0, 1, 2, 3)),  -- flight), 2 ATTACHED, 3 DELETING (DEL
                                                      -- in flight or failed: retried)
    net_config      TEXT    NOT NULL DEFAULT '',      -- the CNI config lists of the ADD (JSON array)
    net_result      TEXT    NOT NULL DEFAULT '',      -- the ADD's results (JSON array): DEL's prevResult
    additional_ips  TEXT    NOT NULL DEFAULT '',      -- addresses beyond ip, space-separated
    infra           INTEGER NOT NULL DEFAULT 1 CHECK (infra IN (0, 1))  -- 1: an infra container;
                                                      -- 0: the pinned namespaces are the pod
);

CREATE INDEX sandboxes_state ON sandboxes (state);
CREATE INDEX sandboxes_network ON sandboxes (network) WHERE network IN (1, 3);

CREATE TABLE containers (
    id              TEXT    NOT NULL PRIMARY KEY
                            CHECK (length(id) = 64 AND id NOT GLOB '*[^0-9a-f]*'),
    sandbox_id      TEXT    NOT NULL REFERENCES sandboxes (id) ON DELETE RESTRICT,
    name            TEXT    NOT NULL UNIQUE,          -- reserved name: name_sandbox-name_..._attempt
    meta_name       TEXT    NOT NULL,
    meta_attempt    INTEGER NOT NULL DEFAULT 0 CHECK (meta_attempt >= 0),
    state           INTEGER NOT NULL DEFAULT 0        -- 0 CREATED, 1 RUNNING, 2 EXITED, 3 UNKNOWN
                            CHECK (state IN (0, 1, 2, 3)),
    creating        INTEGER NOT NULL DEFAULT 1 CHECK (creating IN (0, 1)),  -- CreateContainer in flight
    starting        INTEGER NOT NULL DEFAULT 0 CHECK (starting IN (0, 1)),  -- StartContainer in flight
    removing        INTEGER NOT NULL DEFAULT 0 CHECK (removing IN (0, 1)),  -- RemoveContainer in flight
    created_at      INTEGER NOT NULL DEFAULT 0,
    started_at      INTEGER NOT NULL DEFAULT 0,
    finished_at     INTEGER NOT NULL DEFAULT 0,
    exit_code       INTEGER NOT NULL DEFAULT 0,
    reason          TEXT    NOT NULL DEFAULT '',      -- Completed, Error, OOMKilled, ...
    message         TEXT    NOT NULL DEFAULT '',
    image           TEXT    NOT NULL DEFAULT '',      -- image as requested (ImageSpec.image)
    image_ref       TEXT    NOT NULL DEFAULT '',      -- resolved image id / digest reference
    pid             INTEGER NOT NULL DEFAULT 0,       -- container init process, 0 = none
    log_path        TEXT    NOT NULL DEFAULT '',      -- absolute: sandbox log_directory + log_path
    config          BLOB    NOT NULL,
    config_digest   TEXT    NOT NULL,
    stop_signal     INTEGER NOT NULL DEFAULT 15       -- first signal of StopContainer (image StopSignal)
                            CHECK (stop_signal BETWEEN 1 AND 64),
    resources       BLOB,                             -- LinuxContainerResources last applied by
                                                      -- UpdateContainerResources; NULL = the config's
    updating        INTEGER NOT NULL DEFAULT 0 CHECK (updating IN (0, 1)) -- UpdateContainerResources in flight
);

CREATE INDEX containers_sandbox ON containers (sandbox_id);
CREATE INDEX containers_state ON containers (state);

-- List entries (0008): each object's entry of ListContainers / ListPodSandbox, the CRI Container
-- (PodSandbox) message without id, state and created_at, protobuf-encoded when the object is
-- inserted (NULL = build it from the config: objects from before 0007), beside copies of the
-- object's creating, state and created_at that the *_entries_sync triggers keep in the statement
-- that changes them.  A row per object, inserted with it (same transaction) and deleted with it;
-- in creation order, so a list without a filter scans only these narrow rows.
CREATE TABLE sandbox_entries (
    sandbox_id TEXT    NOT NULL UNIQUE REFERENCES sandboxes (id) ON DELETE CASCADE,
    creating   INTEGER NOT NULL,
    state      INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    entry      BLOB
);

CREATE TRIGGER sandbox_entries_sync AFTER UPDATE OF creating, state, created_at ON sandboxes
WHEN OLD.creating IS NOT NEW.creating OR OLD.state IS NOT NEW.state OR OLD.created_at IS NOT NEW.created_at
BEGIN
    UPDATE sandbox_entries SET creating = NEW.creating, state = NEW.state, created_at = NEW.created_at
    WHERE sandbox_id = NEW.id;
END;

CREATE TABLE container_entries (
    container_id TEXT    NOT NULL UNIQUE REFERENCES containers (id) ON DELETE CASCADE,
    creating     INTEGER NOT NULL,
    state        INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    entry        BLOB
);

CREATE TRIGGER container_entries_sync AFTER UPDATE OF creating, state, created_at ON containers
WHEN OLD.creating IS NOT NEW.creating OR OLD.state IS NOT NEW.state OR OLD.created_at IS NOT NEW.created_at
BEGIN
    UPDATE container_entries SET creating = NEW.creating, state = NEW.state, created_at = NEW.created_at
    WHERE container_id = NEW.id;
END;

-- Labels and annotations: one row per key.  The (key, value) indexes make a label selector an
-- index lookup: id IN (SELECT owner FROM ..._labels WHERE key = ? AND value = ?).
CREATE TABLE sandbox_labels (
    sandbox_id TEXT NOT NULL REFERENCES sandboxes (id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (sandbox_id, key)
) WITHOUT ROWID;
CREATE INDEX sandbox_labels_kv ON sandbox_labels (key, value);

CREATE TABLE sandbox_annotations (
    sandbox_id TEXT NOT NULL REFERENCES sandboxes (id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (sandbox_id, key)
) WITHOUT ROWID;
CREATE INDEX sandbox_annotations_key ON sandbox_annotations (key);

CREATE TABLE container_labels (
    container_id TEXT NOT NULL REFERENCES containers (id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    value        TEXT NOT NULL,
    PRIMARY KEY (container_id, key)
) WITHOUT ROWID;
CREATE INDEX container_labels_kv ON container_labels (key, value);

CREATE TABLE container_annotations (
    container_id TEXT NOT NULL REFERENCES containers (id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    value        TEXT NOT NULL,
    PRIMARY KEY (container_id, key)
) WITHOUT ROWID;
CREATE INDEX container_annotations_key ON container_annotations (key);

-- Operator views: readable state names and ISO-8601 UTC times (NULL when not set).
CREATE VIEW sandboxes_v AS
SELECT id,
       name,
       meta_namespace AS namespace,
       meta_name      AS pod,
       meta_uid       AS uid,
       meta_attempt   AS attempt,
       CASE state WHEN 0 THEN 'READY' WHEN 1 THEN 'NOTREADY' ELSE 'INVALID' END AS state,
       creating, stopping, removing,
       CASE WHEN created_at = 0 THEN NULL ELSE
            strftime('%Y-%m-%dT%H:%M:%S', created_at / 1000000000, 'unixepoch')
            || printf('.%09dZ', created_at % 1000000000) END AS created,
       CASE WHEN finished_at = 0 THEN NULL ELSE
            strftime('%Y-%m-%dT%H:%M:%S', finished_at / 1000000000, 'unixepoch')
            || printf('.%09dZ', finished_at % 1000000000) END AS finished,
       runtime_handler, pid, netns_path, ip, additional_ips,
       CASE network WHEN 0 THEN 'NONE' WHEN 1 THEN 'ADDING' WHEN 2 THEN 'ATTACHED'
                    WHEN 3 THEN 'DELETING' ELSE 'INVALID' END AS network,
       reason, message,
       (SELECT count(*) FROM containers c WHERE c.sandbox_id = s.id) AS containers
FROM sandboxes s;

CREATE VIEW containers_v AS
SELECT c.id,
       c.name,
       c.sandbox_id,
       s.meta_namespace AS namespace,
       s.meta_name      AS pod,
       c.meta_name      AS container,
       c.meta_attempt   AS attempt,
       CASE c.state WHEN 0 THEN 'CREATED' WHEN 1 THEN 'RUNNING' WHEN 2 THEN 'EXITED'
                    WHEN 3 THEN 'UNKNOWN' ELSE 'INVALID' END AS state,
       c.creating, c.starting, c.removing, c.updating,
       CASE WHEN c.created_at = 0 THEN NULL ELSE
            strftime('%Y-%m-%dT%H:%M:%S', c.created_at / 1000000000, 'unixepoch')
            || printf('.%09dZ', c.created_at % 1000000000) END AS created,
       CASE WHEN c.started_at = 0 THEN NULL ELSE
            strftime('%Y-%m-%dT%H:%M:%S', c.started_at / 1000000000, 'unixepoch')
            || printf('.%09dZ', c.started_at % 1000000000) END AS started,
       CASE WHEN c.finished_at = 0 THEN NULL ELSE
            strftime('%Y-%m-%dT%H:%M:%S', c.finished_at / 1000000000, 'unixepoch')
            || printf('.%09dZ', c.finished_at % 1000000000) END AS finished,
       c.exit_code, c.reason, c.message, c.image, c.image_ref, c.pid, c.log_path
FROM containers c JOIN sandboxes s ON s.id = c.sandbox_id;

-- Images (0002_images): an image is identified by its config digest (the CRI image ID); its
-- names are repo tags (kind 0) and repo digests (kind 1); a layer is unpacked once per chain ID
-- under <root>/images/layers/<hex>.  Unreferenced layers and blobs are garbage.

CREATE TABLE images (
    id              TEXT    NOT NULL PRIMARY KEY
                            CHECK (length(id) = 71 AND id GLOB 'sha256:*'
                                   AND substr(id, 8) NOT GLOB '*[^0-9a-f]*'),
    manifest_digest TEXT    NOT NULL,                 -- the image manifest (never an index)
    media_type      TEXT    NOT NULL,                 -- the manifest's media type
    config          BLOB    NOT NULL,                 -- the image config JSON, as fetched
    uid             INTEGER,                          -- config User when numeric, else NULL
    username        TEXT    NOT NULL DEFAULT '',      -- config User when not numeric
    pinned          INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),
    created_at      INTEGER NOT NULL DEFAULT 0        -- when stored on this node
);

CREATE TABLE image_names (
    name            TEXT    NOT NULL PRIMARY KEY,     -- normalized repo tag or repo digest
    image_id        TEXT    NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    kind            INTEGER NOT NULL CHECK (kind IN (0, 1)) -- 0 repo tag, 1 repo digest
);

CREATE INDEX image_names_image ON image_names (image_id);

CREATE TABLE layers (
    chain_id        TEXT    NOT NULL PRIMARY KEY,
    diff_id         TEXT    NOT NULL,
    size            INTEGER NOT NULL DEFAULT 0,       -- bytes of regular files unpacked
    inodes          INTEGER NOT NULL DEFAULT 0,       -- entries unpacked
    created_at      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE image_layers (
    image_id        TEXT    NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    position        INTEGER NOT NULL CHECK (position >= 0), -- 0 = bottom
    chain_id        TEXT    NOT NULL REFERENCES layers (chain_id),
    blob_digest     TEXT    NOT NULL,                 -- the layer archive as fetched
    blob_size       INTEGER NOT NULL CHECK (blob_size >= 0),
    media_type      TEXT    NOT NULL,
    PRIMARY KEY (image_id, position)
);

CREATE INDEX image_layers_chain ON image_layers (chain_id);
CREATE INDEX image_layers_blob ON image_layers (blob_digest);

CREATE TABLE container_layers (
    container_id    TEXT    NOT NULL REFERENCES containers (id) ON DELETE CASCADE,
    position        INTEGER NOT NULL CHECK (position >= 0), -- 0 = bottom (lowest lowerdir)
    chain_id        TEXT    NOT NULL REFERENCES layers (chain_id),
    PRIMARY KEY (container_id, position)
);

CREATE INDEX container_layers_chain ON container_layers (chain_id);

CREATE VIEW images_v AS
SELECT i.id,
       (SELECT group_concat(name, ' ') FROM image_names n WHERE n.image_id = i.id AND n.kind = 0) AS tags,
       (SELECT group_concat(name, ' ') FROM image_names n WHERE n.image_id = i.id AND n.kind = 1) AS digests,
       (length(i.config) + (SELECT coalesce(sum(l.blob_size), 0) FROM image_layers l WHERE l.image_id = i.id)) AS size,
       (SELECT count(*) FROM image_layers l WHERE l.image_id = i.id) AS layers,
       coalesce(i.uid, i.username) AS user,
       i.pinned,
       CASE WHEN i.created_at = 0 THEN NULL ELSE
            strftime('%Y-%m-%dT%H:%M:%S', i.created_at / 1000000000, 'unixepoch')
            || printf('.%09dZ', i.created_at % 1000000000) END AS created
FROM images i;

-- Facts about the host the recorded state belongs to: 'boot_id' = the kernel boot ID of the last
-- daemon start (a different one at startup means the host rebooted and every process is gone).
CREATE TABLE host (
    key   TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- The container event history (migrations/0006_events.sql, docs/events.md): one row per state
-- change — kind 0 CREATED, 1 STARTED, 2 STOPPED, 3 DELETED (the CRI ContainerEventType) — written
-- by the triggers below in the statement that changes the container's (or pod's) row; a pod's
-- rows have container_id = its sandbox ID and container = ''; seq is the commit order; host key
-- 'events_retain' bounds the rows kept.
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
