-- 0011: a mail is poison only after the process died twice while it was
-- being processed alone (kind `alone` after the first such death). One death
-- alone can be a kill from outside (an operator's kill -9, a host
-- shutdown) that happened to land on it; two in a row are the mail.
CREATE TABLE inflight_suspects_new (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('suspect', 'alone', 'poison')),
    reason TEXT NOT NULL,
    noted_at TEXT NOT NULL
) STRICT;
INSERT INTO inflight_suspects_new (key, kind, reason, noted_at) SELECT key, kind, reason, noted_at FROM inflight_suspects;
DROP TABLE inflight_suspects;
ALTER TABLE inflight_suspects_new RENAME TO inflight_suspects;
