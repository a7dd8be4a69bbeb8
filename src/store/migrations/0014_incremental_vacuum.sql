-- 0014: pages freed by retention and erasure go back to the file system
-- (PRAGMA incremental_vacuum after each purge). A new store gets
-- auto_vacuum = INCREMENTAL before its first table (Store::init); an
-- existing file needs one VACUUM to switch, which cannot run inside this
-- transaction: this marker asks for it, and Store::open runs it once the
-- compaction of 0013 is done, when the file system has room for the copy.
INSERT INTO state (key, value) VALUES ('vacuum.pending', 'auto_vacuum=incremental')
    ON CONFLICT(key) DO NOTHING;
