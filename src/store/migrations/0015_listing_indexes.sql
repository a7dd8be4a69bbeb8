-- 0015: the filters of `tickets list`, `messages list` and `outbox list`
-- (src/store/listing.rs) read an index, never the whole table: rows come in
-- id order, so each index ends in the rowid and a page is a range read.
CREATE INDEX tickets_status ON tickets(status);
CREATE INDEX tickets_customer_nocase ON tickets(customer COLLATE NOCASE);
CREATE INDEX tickets_created ON tickets(created_at);
CREATE INDEX messages_received ON messages(received_at);
CREATE INDEX messages_from ON messages(from_addr COLLATE NOCASE);
CREATE INDEX outbox_created ON outbox(created_at);
CREATE INDEX outbox_state ON outbox(state, held, created_at);
-- `status`: the next escalation due and the oldest queued mail are one seek each.
CREATE INDEX tickets_unanswered ON tickets(first_response_due)
    WHERE first_response_at IS NULL AND status IN ('new', 'open', 'in_progress') AND level < 3;
CREATE INDEX outbox_rcpt_outbox ON outbox_rcpt(outbox_id);
