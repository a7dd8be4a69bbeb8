-- 0009: an outgoing mail can be held: not sent until an operator releases it
-- (`supportd outbox release`) or discards it (`supportd outbox delete`).
-- NULL: not held; otherwise why and since when. Every row that was queued
-- in a store restored from a backup is held at the first open (see
-- `store::hold_restored`): a restore never mails customers a second time.
ALTER TABLE outbox ADD COLUMN held TEXT;
