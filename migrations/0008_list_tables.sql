-- 0008_list_tables: the list entries of 0007 move out of the object rows into tables of their own
-- that hold all a list without a filter reads, so that it scans narrow rows: in 0007 the entry sat
-- after the config blob, and a list read every object row whole (at 5,000 containers most of
-- ListContainers' time in the daemon was SQLite reading pages of configs it did not need).
--   * container_entries, sandbox_entries: one row per object, inserted in the transaction that
--     inserts the object (from its row: creating, state, created_at) and deleted with it (ON
--     DELETE CASCADE); entry as in 0007 (NULL: build it from the config).  Their rowids follow the
--     objects' creation, so a list without a filter scans one of them in order.
--   * creating, state and created_at are copies of the object's, kept by the triggers below in
--     the very statement that changes the object (as the events of 0006): the object's
--     conditional UPDATE stays the one write of a transition.  A list with a filter reads the
--     object rows through the filter's index and only the entry from here.
CREATE TABLE container_entries (
    container_id TEXT    NOT NULL UNIQUE REFERENCES containers (id) ON DELETE CASCADE,
    creating     INTEGER NOT NULL,
    state        INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    entry        BLOB
);
INSERT INTO container_entries (container_id, creating, state, created_at, entry)
    SELECT id, creating, state, created_at, list_entry FROM containers ORDER BY rowid;
ALTER TABLE containers DROP COLUMN list_entry;

CREATE TRIGGER container_entries_sync AFTER UPDATE OF creating, state, created_at ON containers
WHEN OLD.creating IS NOT NEW.creating OR OLD.state IS NOT NEW.state OR OLD.created_at IS NOT NEW.created_at
BEGIN
    UPDATE container_entries SET creating = NEW.creating, state = NEW.state, created_at = NEW.created_at
    WHERE container_id = NEW.id;
END;

CREATE TABLE sandbox_entries (
    sandbox_id TEXT    NOT NULL UNIQUE REFERENCES sandboxes (id) ON DELETE CASCADE,
    creating   INTEGER NOT NULL,
    state      INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    entry      BLOB
);
INSERT INTO sandbox_entries (sandbox_id, creating, state, created_at, entry)
    SELECT id, creating, state, created_at, list_entry FROM sandboxes ORDER BY rowid;
ALTER TABLE sandboxes DROP COLUMN list_entry;

CREATE TRIGGER sandbox_entries_sync AFTER UPDATE OF creating, state, created_at ON sandboxes
WHEN OLD.creating IS NOT NEW.creating OR OLD.state IS NOT NEW.state OR OLD.created_at IS NOT NEW.created_at
BEGIN
    UPDATE sandbox_entries SET creating = NEW.creating, state = NEW.state, created_at = NEW.created_at
    WHERE sandbox_id = NEW.id;
END;
