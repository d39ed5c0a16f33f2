-- 0003_lifecycle: what running pods and containers need beyond 0001.
--   * containers.stop_signal: the signal StopContainer sends first (the image's StopSignal, else
--     SIGTERM = 15), recorded by CreateContainer so that it outlives the image.
--   * host: facts about the host the recorded state belongs to.  Key 'boot_id' holds the kernel's
--     boot ID (/proc/sys/kernel/random/boot_id) of the last daemon start: a start after a reboot
--     sees a different one and knows that every process it recorded is gone.

ALTER TABLE containers ADD COLUMN stop_signal INTEGER NOT NULL DEFAULT 15
    CHECK (stop_signal BETWEEN 1 AND 64);

CREATE TABLE host (
    key   TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
