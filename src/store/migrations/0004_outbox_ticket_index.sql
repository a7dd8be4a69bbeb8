-- 0004: threading headers read every mail of a ticket; without this index
-- each new outgoing mail scanned the whole outbox (raw bytes included).
CREATE INDEX outbox_ticket ON outbox(ticket_id);
