-- 0004_resources: UpdateContainerResources.
--   * containers.resources: the container's Linux resources as last applied by
--     UpdateContainerResources (a runtime.v1.LinuxContainerResources, protobuf-encoded); NULL while
--     they are still those of its CreateContainer config.  ContainerStatus reports them.
--   * containers.updating: an UpdateContainerResources is in flight (set by one conditional UPDATE,
--     cleared with the outcome; startup recovery re-applies the recorded resources and clears it).

ALTER TABLE containers ADD COLUMN resources BLOB;
ALTER TABLE containers ADD COLUMN updating INTEGER NOT NULL DEFAULT 0 CHECK (updating IN (0, 1));

DROP VIEW containers_v;
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
