-- 0001: tickets, messages, events, outbox, attachments, state.
-- Append-only: never edit a released migration; add the next number.

CREATE TABLE tickets (
    -- The number in the tag (MT-000123). AUTOINCREMENT: a number is never reused.
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject TEXT NOT NULL,
    category TEXT NOT NULL,
    level INTEGER NOT NULL CHECK (level BETWEEN 1 AND 3),
    priority TEXT NOT NULL,
    status TEXT NOT NULL,
    customer TEXT,
    requester TEXT NOT NULL,
    billable INTEGER NOT NULL CHECK (billable IN (0, 1)),
    confidence REAL NOT NULL DEFAULT 1.0,
    low_confidence INTEGER NOT NULL DEFAULT 0,
    language TEXT NOT NULL DEFAULT 'de',
    assignee TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    first_response_due TEXT,
    resolution_due TEXT,
    first_response_at TEXT,
    closed_at TEXT,
    -- Set when this ticket was merged into another.
    merged_into INTEGER REFERENCES tickets(id),
    -- A new ticket opened from a mail that pointed at another ticket (closed too long, or a stranger's tag).
    linked_to INTEGER REFERENCES tickets(id)
) STRICT;

CREATE INDEX tickets_customer ON tickets(customer, status);
CREATE INDEX tickets_requester ON tickets(requester);

-- People on a ticket: the requester and everyone in To/Cc of their mails.
CREATE TABLE participants (
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    address TEXT NOT NULL,
    role TEXT NOT NULL,
    PRIMARY KEY (ticket_id, address)
) STRICT;

CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    -- Message-ID without <>, or synthetic.<hash>@supportd.invalid.
    message_id TEXT,
    content_hash TEXT NOT NULL,
    raw BLOB NOT NULL,
    source TEXT NOT NULL,
    from_addr TEXT,
    subject TEXT,
    sent_date TEXT,
    in_reply_to TEXT,
    refs TEXT,
    new_text TEXT,
    -- NULL only inside the transaction that stored the raw bytes.
    disposition TEXT,
    reason TEXT,
    ticket_id INTEGER REFERENCES tickets(id),
    received_at TEXT NOT NULL
) STRICT;

CREATE INDEX messages_message_id ON messages(message_id);
CREATE INDEX messages_ticket ON messages(ticket_id);
CREATE INDEX messages_disposition ON messages(disposition);

CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER REFERENCES tickets(id),
    message_row INTEGER REFERENCES messages(id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL
) STRICT;

CREATE INDEX events_ticket ON events(ticket_id);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    ticket_id INTEGER REFERENCES tickets(id),
    -- The Message-ID we gave this mail, without <>.
    message_id TEXT NOT NULL UNIQUE,
    -- JSON list of envelope recipients.
    recipients TEXT NOT NULL,
    subject TEXT NOT NULL,
    raw BLOB NOT NULL,
    in_reply_to TEXT,
    state TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    -- The incoming mail that caused it, if any.
    cause_row INTEGER REFERENCES messages(id)
) STRICT;

CREATE INDEX outbox_due ON outbox(state, next_attempt_at);

-- One row per envelope recipient, for the per-sender cap on automatic answers.
CREATE TABLE outbox_rcpt (
    outbox_id INTEGER NOT NULL REFERENCES outbox(id),
    address TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

CREATE INDEX outbox_rcpt_address ON outbox_rcpt(address, created_at);

-- Attachment bodies, content-addressed and stored once.
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    data BLOB NOT NULL
) STRICT;

CREATE TABLE attachments (
    id INTEGER PRIMARY KEY,
    message_row INTEGER NOT NULL REFERENCES messages(id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL REFERENCES blobs(sha256),
    flag TEXT
) STRICT;

CREATE INDEX attachments_message ON attachments(message_row);

-- Small facts the daemon keeps: the Message-ID secret, IMAP UIDVALIDITY and last UID.
CREATE TABLE state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
