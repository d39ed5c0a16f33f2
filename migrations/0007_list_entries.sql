-- 0007_list_entries: each container's and pod sandbox's entry of ListContainers / ListPodSandbox,
-- protobuf-encoded once when the row is inserted: the CRI Container (PodSandbox) message without
-- its id, state and created_at, which a list appends from their columns.  So a list splices bytes
-- instead of decoding every row's config (kubelet relists every second).  NULL for rows inserted
-- before this version: a list builds theirs from the config.
--   * sandboxes.infra: 1 when the pod has an infra container (litecri-pause under conmon and runc),
--     0 when its pinned namespaces are the pod (no process of its own: a pod whose containers do
--     not share a PID namespace); pods of older versions all have one.
ALTER TABLE containers ADD COLUMN list_entry BLOB;
ALTER TABLE sandboxes ADD COLUMN list_entry BLOB;
ALTER TABLE sandboxes ADD COLUMN infra INTEGER NOT NULL DEFAULT 1 CHECK (infra IN (0, 1));
