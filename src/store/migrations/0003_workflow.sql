-- 0003: the workflow: status history (the SLA clock pauses while a ticket
-- waits on the customer), announced changes to a customer's instance, and
-- escalation marks so a restart never escalates twice.

CREATE TABLE status_history (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    status TEXT NOT NULL,
    at TEXT NOT NULL
) STRICT;

CREATE INDEX status_history_ticket ON status_history(ticket_id, at);

CREATE TABLE changes (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    -- The window, RFC 3339 UTC.
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    description TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('announced', 'done', 'cancelled')),
    announced_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    reminded_at TEXT,
    finished_at TEXT
) STRICT;

CREATE INDEX changes_due ON changes(state, starts_at);

ALTER TABLE tickets ADD COLUMN sla_warned_at TEXT;
ALTER TABLE tickets ADD COLUMN escalated_at TEXT;
