-- 0005_network: pod networking through CNI (src/net, docs/network.md).
--   * sandboxes.network: where the pod's CNI attachment stands — 0 NONE (never attached: a
--     host-network pod; or torn down), 1 ADDING (an ADD is in flight: set in its own transaction
--     before the ADD, so that a daemon killed before the READY commit is found by recovery, which
--     DELs it), 2 ATTACHED (recorded with READY), 3 DELETING (a DEL is in flight or failed: retried
--     by the next StopPodSandbox or RemovePodSandbox, and by recovery at startup).
--     RemovePodSandbox refuses a pod whose network is not NONE.
--   * sandboxes.net_config: the network config lists the ADD runs (a JSON array), recorded with
--     ADDING, for the DEL: the config directory may change or be emptied meanwhile.
--   * sandboxes.net_result: the ADD's results (a JSON array, one per list), the DEL's prevResult;
--     '' until READY is recorded.
--   * sandboxes.ip (0001) is the pod's first address; sandboxes.additional_ips the others
--     (space-separated; dual stack), both from the ADD's result, cleared with the DEL.

ALTER TABLE sandboxes ADD COLUMN network INTEGER NOT NULL DEFAULT 0 CHECK (network IN (0, 1, 2, 3));
ALTER TABLE sandboxes ADD COLUMN net_config TEXT NOT NULL DEFAULT '';
ALTER TABLE sandboxes ADD COLUMN net_result TEXT NOT NULL DEFAULT '';
ALTER TABLE sandboxes ADD COLUMN additional_ips TEXT NOT NULL DEFAULT '';

CREATE INDEX sandboxes_network ON sandboxes (network) WHERE network IN (1, 3);

DROP VIEW sandboxes_v;
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
