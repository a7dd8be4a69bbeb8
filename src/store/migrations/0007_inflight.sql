-- 0007: mails a previous process was working on when it died (see
-- src/inflight.rs). `suspect`: it was in the batch in hand; the next time it
-- comes it is processed alone. `poison`: it was being processed alone, or
-- went over limits.max_processing_secs, when the process died; the next time
-- it comes it is quarantined with its bytes, unparsed. A row goes away in
-- the transaction that stores its mail. `key` is the source label and the
-- byte length, "<length> <label>".
CREATE TABLE inflight_suspects (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('suspect', 'poison')),
    reason TEXT NOT NULL,
    noted_at TEXT NOT NULL
) STRICT;
