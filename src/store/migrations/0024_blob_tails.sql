-- 0024: an attachment body's last bytes as small pieces (`blob_tails`).
-- SQLite keeps the start of a large row on a leaf page and the rest in
-- overflow pages; how much stays on the leaf (489 to 4,061 bytes with
-- 4 KB pages) follows from the row's length. Rows whose leaf parts are
-- that large and that varied fill leaf pages badly: at 10,000 bench_scale
-- mails a quarter of the blobs table's leaf pages was empty (3.65 MiB of
-- 14.8). A body is now stored as `data` sized to fill its overflow pages
-- exactly with the least on the leaf, then the rest (`tail_pieces` pieces
-- of at most 512 bytes, from `blob_tails.id = tail_first` on), which pack
-- densely. Rows from before keep their whole body in `data` (no tail).
CREATE TABLE blob_tails (
    id INTEGER PRIMARY KEY,
    data BLOB NOT NULL
) STRICT;
ALTER TABLE blobs ADD COLUMN tail_first INTEGER;
ALTER TABLE blobs ADD COLUMN tail_pieces INTEGER NOT NULL DEFAULT 0;
