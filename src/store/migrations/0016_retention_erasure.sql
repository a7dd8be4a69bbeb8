-- 0016: retention and erasure. What retention removed from a stored mail
-- (its raw bytes, its attachments' bytes) is marked, with when; the row,
-- its facts, the ticket, its events and the report figures stay.
-- `erasures` holds the receipts of `supportd forget`: what was asked (the
-- SHA-256 of the address or domain, never the address itself), by whom,
-- when, and what was removed (JSON counts).
ALTER TABLE messages ADD COLUMN raw_removed_at TEXT;
ALTER TABLE outbox ADD COLUMN raw_removed_at TEXT;
ALTER TABLE attachments ADD COLUMN removed_at TEXT;
CREATE TABLE erasures (
    id INTEGER PRIMARY KEY,
    -- 'address' or 'domain'.
    kind TEXT NOT NULL CHECK (kind IN ('address', 'domain')),
    -- SHA-256 (hex) of the lowercase address or domain: proves what was
    -- erased to whoever knows it, names nobody to whoever does not.
    subject_sha256 TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    at TEXT NOT NULL,
    -- JSON object: rows changed per kind.
    summary TEXT NOT NULL
) STRICT;
CREATE INDEX messages_retention ON messages(received_at) WHERE raw_removed_at IS NULL;
CREATE INDEX outbox_retention ON outbox(created_at) WHERE raw_removed_at IS NULL;
CREATE INDEX attachments_live ON attachments(message_row) WHERE removed_at IS NULL;
-- `forget`: the outgoing mails a person's mails caused.
CREATE INDEX outbox_cause ON outbox(cause_row);
