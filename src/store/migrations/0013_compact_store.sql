-- 0013: the compact store (see src/store/compact.rs). Raw incoming and
-- outgoing mails are kept zstd-compressed, an incoming mail's attachments
-- only once as decoded blobs (its raw bytes a skeleton that refers to them),
-- and blobs compressed where that pays. `raw_format`: 0 as it came (rows
-- from before this migration, converted in batches after it, each batch
-- its own transaction), 1 zstd, 2 zstd skeleton. `raw_size`: the length of
-- the mail as it came (NULL: an unconverted old row, length(raw) then).
ALTER TABLE messages ADD COLUMN raw_format INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN raw_size INTEGER;
ALTER TABLE outbox ADD COLUMN raw_format INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN raw_size INTEGER;
ALTER TABLE blobs ADD COLUMN codec INTEGER NOT NULL DEFAULT 0;
-- The conversion finds what is left without reading every row.
CREATE INDEX messages_raw_plain ON messages(id) WHERE raw_format = 0;
CREATE INDEX outbox_raw_plain ON outbox(id) WHERE raw_format = 0;
CREATE INDEX attachments_sha256 ON attachments(sha256);
