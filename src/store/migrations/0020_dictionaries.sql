-- 0020: trained zstd dictionaries (store::dict). The small, alike texts of
-- the store (the skeletons of incoming mails, our outgoing mails, the
-- processing trails) compress three to seven times better with a
-- dictionary trained on earlier ones.
-- A compressed value names its dictionary in its zstd frame header (the
-- dictionary ID, `id` here); a value without one reads as before.
CREATE TABLE dictionaries (
    -- The zstd dictionary ID (in the header of every frame made with it).
    id INTEGER PRIMARY KEY,
    -- 'mail' (messages.raw), 'outbox' (outbox.raw), 'trail' (message_trails.data).
    kind TEXT NOT NULL CHECK (kind IN ('mail', 'outbox', 'trail')),
    -- The dictionary as zstd trained it.
    data BLOB NOT NULL,
    -- The rows (of messages or outbox) it was trained on: first .. last id.
    -- Erasure and retention retire a dictionary trained on a row they remove.
    first_row INTEGER NOT NULL,
    last_row INTEGER NOT NULL,
    samples INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    -- Set when it must go: rows are recompressed away from it in batches,
    -- then it is deleted. NULL: the kind's current dictionary.
    retired_at TEXT
) STRICT;
-- A mail's trail (JSON list of what each stage decided), zstd with the
-- 'trail' dictionary; written instead of the text column messages.trail,
-- which rows from before keep. (A table of its own, not a column: a column
-- added to messages would land in another place in stores that applied the
-- compact-store migrations late.)
CREATE TABLE message_trails (
    message_row INTEGER PRIMARY KEY REFERENCES messages(id),
    data BLOB NOT NULL
) STRICT;
