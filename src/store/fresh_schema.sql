-- The schema src/store/migrations/ build, one object per statement in the order SQLite keeps them: a new store is created with it. Written by tests/migrations.rs (SUPPORTD_WRITE_SCHEMA=1 cargo test --test migrations a_new_store); do not edit.
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
, sla_warned_at TEXT, escalated_at TEXT, requester_name TEXT, security_flag INTEGER NOT NULL DEFAULT 0 CHECK (security_flag IN (0, 1)), first_response_secs INTEGER, waited INTEGER NOT NULL DEFAULT 0 CHECK (waited IN (0, 1))) STRICT;
CREATE INDEX tickets_requester ON tickets(requester);
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
, trail TEXT, arrived_at TEXT, raw_format INTEGER NOT NULL DEFAULT 0, raw_size INTEGER, raw_removed_at TEXT) STRICT;
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
, held TEXT, raw_format INTEGER NOT NULL DEFAULT 0, raw_size INTEGER, raw_removed_at TEXT) STRICT;
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    data BLOB NOT NULL
, codec INTEGER NOT NULL DEFAULT 0, tail_first INTEGER, tail_pieces INTEGER NOT NULL DEFAULT 0) STRICT;
CREATE TABLE attachments (
    id INTEGER PRIMARY KEY,
    message_row INTEGER NOT NULL REFERENCES messages(id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL REFERENCES blobs(sha256),
    flag TEXT
, removed_at TEXT) STRICT;
CREATE INDEX attachments_message ON attachments(message_row);
CREATE TABLE state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
CREATE TABLE message_refs (
    message_row INTEGER NOT NULL REFERENCES messages(id),
    ref_id TEXT NOT NULL
) STRICT;
CREATE INDEX message_refs_ref ON message_refs(ref_id);
CREATE TABLE status_history (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    status TEXT NOT NULL,
    at TEXT NOT NULL
) STRICT;
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
CREATE INDEX outbox_ticket ON outbox(ticket_id);
CREATE TABLE reports_sent (
    id INTEGER PRIMARY KEY,
    customer TEXT NOT NULL,
    -- 2026-11, 2026-Q4, 2026-H2 or 2026.
    period TEXT NOT NULL,
    trigger TEXT NOT NULL CHECK (trigger IN ('schedule', 'manual')),
    outbox_id INTEGER REFERENCES outbox(id),
    created_at TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX reports_sent_scheduled ON reports_sent(customer, period) WHERE trigger = 'schedule';
CREATE INDEX reports_sent_customer ON reports_sent(customer, created_at);
CREATE TABLE "inflight_suspects" (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('suspect', 'alone', 'poison')),
    reason TEXT NOT NULL,
    noted_at TEXT NOT NULL
) STRICT;
CREATE INDEX messages_raw_plain ON messages(id) WHERE raw_format = 0;
CREATE INDEX outbox_raw_plain ON outbox(id) WHERE raw_format = 0;
CREATE INDEX attachments_sha256 ON attachments(sha256);
CREATE INDEX tickets_status ON tickets(status);
CREATE INDEX tickets_customer_nocase ON tickets(customer COLLATE NOCASE);
CREATE INDEX tickets_created ON tickets(created_at);
CREATE INDEX messages_received ON messages(received_at);
CREATE INDEX messages_from ON messages(from_addr COLLATE NOCASE);
CREATE INDEX outbox_created ON outbox(created_at);
CREATE INDEX outbox_state ON outbox(state, held, created_at);
CREATE INDEX tickets_unanswered ON tickets(first_response_due)
    WHERE first_response_at IS NULL AND status IN ('new', 'open', 'in_progress') AND level < 3;
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
CREATE INDEX outbox_cause ON outbox(cause_row);
CREATE TABLE welcome_sent (
    id INTEGER PRIMARY KEY,
    customer TEXT NOT NULL,
    trigger TEXT NOT NULL CHECK (trigger IN ('schedule', 'manual', 'known')),
    outbox_id INTEGER REFERENCES outbox(id),
    created_at TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX welcome_sent_once ON welcome_sent(customer) WHERE trigger IN ('schedule', 'known');
CREATE TABLE kb_drafts (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER REFERENCES tickets(id),
    message_row INTEGER REFERENCES messages(id),
    language TEXT NOT NULL,
    title TEXT NOT NULL,
    -- Comma-separated, as in an article's front matter.
    keywords TEXT NOT NULL,
    -- The customer's question (first request of the ticket) and the agent's answer.
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
CREATE TABLE digests_sent (
    id INTEGER PRIMARY KEY,
    level INTEGER NOT NULL CHECK (level BETWEEN 1 AND 3),
    -- YYYY-MM-DD in the support time zone.
    day TEXT NOT NULL,
    outbox_id INTEGER REFERENCES outbox(id),
    created_at TEXT NOT NULL,
    UNIQUE (level, day)
) STRICT;
CREATE TABLE followups_sent (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    kind TEXT NOT NULL CHECK (kind IN ('reminder', 'closed')),
    waiting_since TEXT NOT NULL,
    outbox_id INTEGER REFERENCES outbox(id),
    created_at TEXT NOT NULL,
    UNIQUE (ticket_id, kind, waiting_since)
) STRICT;
CREATE TABLE counters (
    scope TEXT NOT NULL CHECK (scope IN ('messages', 'outbox', 'tickets')),
    key TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) STRICT, WITHOUT ROWID;
CREATE TRIGGER counters_messages_insert AFTER INSERT ON messages WHEN NEW.disposition IS NOT NULL
BEGIN
    INSERT INTO counters (scope, key, n) SELECT 'messages', NEW.disposition, 1 WHERE 1
        ON CONFLICT (scope, key) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER counters_messages_update AFTER UPDATE OF disposition ON messages
    WHEN OLD.disposition IS NOT NEW.disposition
BEGIN
    UPDATE counters SET n = n - 1 WHERE scope = 'messages' AND key = OLD.disposition;
    INSERT INTO counters (scope, key, n) SELECT 'messages', NEW.disposition, 1 WHERE NEW.disposition IS NOT NULL
        ON CONFLICT (scope, key) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER counters_messages_delete AFTER DELETE ON messages WHEN OLD.disposition IS NOT NULL
BEGIN
    UPDATE counters SET n = n - 1 WHERE scope = 'messages' AND key = OLD.disposition;
END;
CREATE TRIGGER counters_outbox_insert AFTER INSERT ON outbox
BEGIN
    INSERT INTO counters (scope, key, n) SELECT 'outbox', NEW.state, 1 WHERE 1
        ON CONFLICT (scope, key) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER counters_outbox_update AFTER UPDATE OF state ON outbox WHEN OLD.state IS NOT NEW.state
BEGIN
    UPDATE counters SET n = n - 1 WHERE scope = 'outbox' AND key = OLD.state;
    INSERT INTO counters (scope, key, n) SELECT 'outbox', NEW.state, 1 WHERE 1
        ON CONFLICT (scope, key) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER counters_outbox_delete AFTER DELETE ON outbox
BEGIN
    UPDATE counters SET n = n - 1 WHERE scope = 'outbox' AND key = OLD.state;
END;
CREATE TRIGGER counters_tickets_insert AFTER INSERT ON tickets
BEGIN
    INSERT INTO counters (scope, key, n) SELECT 'tickets', NEW.status, 1 WHERE 1
        ON CONFLICT (scope, key) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER counters_tickets_update AFTER UPDATE OF status ON tickets WHEN OLD.status IS NOT NEW.status
BEGIN
    UPDATE counters SET n = n - 1 WHERE scope = 'tickets' AND key = OLD.status;
    INSERT INTO counters (scope, key, n) SELECT 'tickets', NEW.status, 1 WHERE 1
        ON CONFLICT (scope, key) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER counters_tickets_delete AFTER DELETE ON tickets
BEGIN
    UPDATE counters SET n = n - 1 WHERE scope = 'tickets' AND key = OLD.status;
END;
CREATE INDEX events_escalation ON events(at) WHERE kind = 'escalation';
CREATE INDEX tickets_customer_live ON tickets(customer, status) WHERE merged_into IS NULL;
CREATE INDEX status_history_status ON status_history(ticket_id, at, status);
CREATE TABLE report_bounds (
    start TEXT PRIMARY KEY,
    month TEXT NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE report_opened (
    customer TEXT NOT NULL,
    month TEXT NOT NULL,
    category TEXT NOT NULL,
    level INTEGER NOT NULL,
    priority TEXT NOT NULL,
    billable INTEGER NOT NULL,
    unanswered_open INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (customer, month, category, level, priority, billable, unanswered_open)
) STRICT, WITHOUT ROWID;
CREATE TABLE report_first (
    customer TEXT NOT NULL,
    month TEXT NOT NULL,
    answered_month TEXT NOT NULL,
    category TEXT NOT NULL,
    priority TEXT NOT NULL,
    minutes INTEGER NOT NULL,
    whole INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (customer, month, answered_month, category, priority, minutes, whole)
) STRICT, WITHOUT ROWID;
CREATE TABLE report_spans (
    customer TEXT NOT NULL,
    until_month TEXT NOT NULL,
    month TEXT NOT NULL,
    status TEXT NOT NULL,
    opened_month TEXT NOT NULL,
    answered_month TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (customer, until_month, month, status, opened_month, answered_month)
) STRICT, WITHOUT ROWID;
CREATE INDEX tickets_report_unanswered ON tickets(customer, created_at, closed_at, status, waited, category, priority)
    WHERE merged_into IS NULL AND first_response_at IS NULL;
CREATE INDEX tickets_waited ON tickets(customer, created_at) WHERE waited = 1 AND merged_into IS NULL;
CREATE INDEX tickets_unmeasured ON tickets(customer, created_at)
    WHERE first_response_at IS NOT NULL AND first_response_secs IS NULL;
CREATE TRIGGER report_tickets_insert AFTER INSERT ON tickets
BEGIN
    INSERT INTO report_opened (customer, month, category, level, priority, billable, unanswered_open, n)
        SELECT NEW.customer, coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= NEW.created_at ORDER BY b.start DESC LIMIT 1), ''), NEW.category, NEW.level, NEW.priority, NEW.billable,
            NEW.first_response_at IS NULL AND NEW.status NOT IN ('resolved', 'closed'), 1
        WHERE NEW.customer IS NOT NULL AND NEW.merged_into IS NULL
        ON CONFLICT (customer, month, category, level, priority, billable, unanswered_open) DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_first (customer, month, answered_month, category, priority, minutes, whole, n)
        SELECT NEW.customer, coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= NEW.created_at ORDER BY b.start DESC LIMIT 1), ''), coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= NEW.first_response_at ORDER BY b.start DESC LIMIT 1), ''), NEW.category, NEW.priority,
            NEW.first_response_secs / 60, NEW.first_response_secs % 60 = 0, 1
        WHERE NEW.customer IS NOT NULL AND NEW.merged_into IS NULL AND NEW.first_response_at IS NOT NULL
            AND NEW.first_response_secs IS NOT NULL
        ON CONFLICT (customer, month, answered_month, category, priority, minutes, whole) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER report_tickets_delete AFTER DELETE ON tickets
BEGIN
    INSERT INTO report_opened (customer, month, category, level, priority, billable, unanswered_open, n)
        SELECT OLD.customer, coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= OLD.created_at ORDER BY b.start DESC LIMIT 1), ''), OLD.category, OLD.level, OLD.priority, OLD.billable,
            OLD.first_response_at IS NULL AND OLD.status NOT IN ('resolved', 'closed'), -1
        WHERE OLD.customer IS NOT NULL AND OLD.merged_into IS NULL
        ON CONFLICT (customer, month, category, level, priority, billable, unanswered_open) DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_first (customer, month, answered_month, category, priority, minutes, whole, n)
        SELECT OLD.customer, coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= OLD.created_at ORDER BY b.start DESC LIMIT 1), ''), coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= OLD.first_response_at ORDER BY b.start DESC LIMIT 1), ''), OLD.category, OLD.priority,
            OLD.first_response_secs / 60, OLD.first_response_secs % 60 = 0, -1
        WHERE OLD.customer IS NOT NULL AND OLD.merged_into IS NULL AND OLD.first_response_at IS NOT NULL
            AND OLD.first_response_secs IS NOT NULL
        ON CONFLICT (customer, month, answered_month, category, priority, minutes, whole) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER report_tickets_update AFTER UPDATE OF customer, created_at, category, level, priority, billable, status,
    merged_into, first_response_at, first_response_secs ON tickets
BEGIN
    INSERT INTO report_opened (customer, month, category, level, priority, billable, unanswered_open, n)
        SELECT OLD.customer, coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= OLD.created_at ORDER BY b.start DESC LIMIT 1), ''), OLD.category, OLD.level, OLD.priority, OLD.billable,
            OLD.first_response_at IS NULL AND OLD.status NOT IN ('resolved', 'closed'), -1
        WHERE OLD.customer IS NOT NULL AND OLD.merged_into IS NULL
        ON CONFLICT (customer, month, category, level, priority, billable, unanswered_open) DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_first (customer, month, answered_month, category, priority, minutes, whole, n)
        SELECT OLD.customer, coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= OLD.created_at ORDER BY b.start DESC LIMIT 1), ''), coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= OLD.first_response_at ORDER BY b.start DESC LIMIT 1), ''), OLD.category, OLD.priority,
            OLD.first_response_secs / 60, OLD.first_response_secs % 60 = 0, -1
        WHERE OLD.customer IS NOT NULL AND OLD.merged_into IS NULL AND OLD.first_response_at IS NOT NULL
            AND OLD.first_response_secs IS NOT NULL
        ON CONFLICT (customer, month, answered_month, category, priority, minutes, whole) DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_opened (customer, month, category, level, priority, billable, unanswered_open, n)
        SELECT NEW.customer, coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= NEW.created_at ORDER BY b.start DESC LIMIT 1), ''), NEW.category, NEW.level, NEW.priority, NEW.billable,
            NEW.first_response_at IS NULL AND NEW.status NOT IN ('resolved', 'closed'), 1
        WHERE NEW.customer IS NOT NULL AND NEW.merged_into IS NULL
        ON CONFLICT (customer, month, category, level, priority, billable, unanswered_open) DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_first (customer, month, answered_month, category, priority, minutes, whole, n)
        SELECT NEW.customer, coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= NEW.created_at ORDER BY b.start DESC LIMIT 1), ''), coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= NEW.first_response_at ORDER BY b.start DESC LIMIT 1), ''), NEW.category, NEW.priority,
            NEW.first_response_secs / 60, NEW.first_response_secs % 60 = 0, 1
        WHERE NEW.customer IS NOT NULL AND NEW.merged_into IS NULL AND NEW.first_response_at IS NOT NULL
            AND NEW.first_response_secs IS NOT NULL
        ON CONFLICT (customer, month, answered_month, category, priority, minutes, whole) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER report_tickets_move AFTER UPDATE OF customer, merged_into, created_at, first_response_at ON tickets
    WHEN OLD.customer IS NOT NEW.customer OR (OLD.merged_into IS NULL) <> (NEW.merged_into IS NULL)
        OR OLD.created_at IS NOT NEW.created_at OR OLD.first_response_at IS NOT NEW.first_response_at
BEGIN
    INSERT INTO report_spans (customer, until_month, month, status, opened_month, answered_month, n)
        SELECT OLD.customer, CASE WHEN h.nx IS NULL THEN '~' ELSE coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= h.nx ORDER BY b.start DESC LIMIT 1), '') END, coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= h.at ORDER BY b.start DESC LIMIT 1), ''), h.status, coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= OLD.created_at ORDER BY b.start DESC LIMIT 1), ''), CASE WHEN OLD.first_response_at IS NULL THEN '~' ELSE coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= OLD.first_response_at ORDER BY b.start DESC LIMIT 1), '') END, -1
        FROM (SELECT status, at, lead(at) OVER (ORDER BY at, id) AS nx FROM status_history WHERE ticket_id = OLD.id) h
        WHERE OLD.customer IS NOT NULL AND OLD.merged_into IS NULL
        ON CONFLICT (customer, until_month, month, status, opened_month, answered_month) DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_spans (customer, until_month, month, status, opened_month, answered_month, n)
        SELECT NEW.customer, CASE WHEN h.nx IS NULL THEN '~' ELSE coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= h.nx ORDER BY b.start DESC LIMIT 1), '') END, coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= h.at ORDER BY b.start DESC LIMIT 1), ''), h.status, coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= NEW.created_at ORDER BY b.start DESC LIMIT 1), ''), CASE WHEN NEW.first_response_at IS NULL THEN '~' ELSE coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= NEW.first_response_at ORDER BY b.start DESC LIMIT 1), '') END, 1
        FROM (SELECT status, at, lead(at) OVER (ORDER BY at, id) AS nx FROM status_history WHERE ticket_id = NEW.id) h
        WHERE NEW.customer IS NOT NULL AND NEW.merged_into IS NULL
        ON CONFLICT (customer, until_month, month, status, opened_month, answered_month) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER report_history_insert AFTER INSERT ON status_history
BEGIN
    UPDATE tickets SET waited = 1 WHERE id = NEW.ticket_id AND NEW.status = 'waiting' AND first_response_at IS NULL AND waited = 0;
    INSERT INTO report_spans (customer, until_month, month, status, opened_month, answered_month, n)
        SELECT t.customer, u.until_month, u.month, u.status, coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= t.created_at ORDER BY b.start DESC LIMIT 1), ''), CASE WHEN t.first_response_at IS NULL THEN '~' ELSE coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= t.first_response_at ORDER BY b.start DESC LIMIT 1), '') END, u.n
        FROM tickets t JOIN (
            SELECT p.status AS status, coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= p.at ORDER BY b.start DESC LIMIT 1), '') AS month, CASE WHEN (SELECT x.at FROM status_history x WHERE x.ticket_id = NEW.ticket_id AND (x.at > NEW.at OR (x.at = NEW.at AND x.id > NEW.id)) ORDER BY x.at, x.id LIMIT 1) IS NULL THEN '~' ELSE coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= (SELECT x.at FROM status_history x WHERE x.ticket_id = NEW.ticket_id AND (x.at > NEW.at OR (x.at = NEW.at AND x.id > NEW.id)) ORDER BY x.at, x.id LIMIT 1) ORDER BY b.start DESC LIMIT 1), '') END AS until_month, -1 AS n
                FROM status_history p WHERE p.id = (SELECT p.id FROM status_history p WHERE p.ticket_id = NEW.ticket_id AND (p.at < NEW.at OR (p.at = NEW.at AND p.id < NEW.id)) ORDER BY p.at DESC, p.id DESC LIMIT 1)
            UNION ALL SELECT p.status, coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= p.at ORDER BY b.start DESC LIMIT 1), ''), coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= NEW.at ORDER BY b.start DESC LIMIT 1), ''), 1
                FROM status_history p WHERE p.id = (SELECT p.id FROM status_history p WHERE p.ticket_id = NEW.ticket_id AND (p.at < NEW.at OR (p.at = NEW.at AND p.id < NEW.id)) ORDER BY p.at DESC, p.id DESC LIMIT 1)
            UNION ALL SELECT NEW.status, coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= NEW.at ORDER BY b.start DESC LIMIT 1), ''), CASE WHEN (SELECT x.at FROM status_history x WHERE x.ticket_id = NEW.ticket_id AND (x.at > NEW.at OR (x.at = NEW.at AND x.id > NEW.id)) ORDER BY x.at, x.id LIMIT 1) IS NULL THEN '~' ELSE coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= (SELECT x.at FROM status_history x WHERE x.ticket_id = NEW.ticket_id AND (x.at > NEW.at OR (x.at = NEW.at AND x.id > NEW.id)) ORDER BY x.at, x.id LIMIT 1) ORDER BY b.start DESC LIMIT 1), '') END, 1
        ) u ON 1
        WHERE t.id = NEW.ticket_id AND t.customer IS NOT NULL AND t.merged_into IS NULL
        ON CONFLICT (customer, until_month, month, status, opened_month, answered_month) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER report_history_delete AFTER DELETE ON status_history
BEGIN
    INSERT INTO report_spans (customer, until_month, month, status, opened_month, answered_month, n)
        SELECT t.customer, u.until_month, u.month, u.status, coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= t.created_at ORDER BY b.start DESC LIMIT 1), ''), CASE WHEN t.first_response_at IS NULL THEN '~' ELSE coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= t.first_response_at ORDER BY b.start DESC LIMIT 1), '') END, u.n
        FROM tickets t JOIN (
            SELECT p.status AS status, coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= p.at ORDER BY b.start DESC LIMIT 1), '') AS month, CASE WHEN (SELECT x.at FROM status_history x WHERE x.ticket_id = OLD.ticket_id AND (x.at > OLD.at OR (x.at = OLD.at AND x.id > OLD.id)) ORDER BY x.at, x.id LIMIT 1) IS NULL THEN '~' ELSE coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= (SELECT x.at FROM status_history x WHERE x.ticket_id = OLD.ticket_id AND (x.at > OLD.at OR (x.at = OLD.at AND x.id > OLD.id)) ORDER BY x.at, x.id LIMIT 1) ORDER BY b.start DESC LIMIT 1), '') END AS until_month, 1 AS n
                FROM status_history p WHERE p.id = (SELECT p.id FROM status_history p WHERE p.ticket_id = OLD.ticket_id AND (p.at < OLD.at OR (p.at = OLD.at AND p.id < OLD.id)) ORDER BY p.at DESC, p.id DESC LIMIT 1)
            UNION ALL SELECT p.status, coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= p.at ORDER BY b.start DESC LIMIT 1), ''), coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= OLD.at ORDER BY b.start DESC LIMIT 1), ''), -1
                FROM status_history p WHERE p.id = (SELECT p.id FROM status_history p WHERE p.ticket_id = OLD.ticket_id AND (p.at < OLD.at OR (p.at = OLD.at AND p.id < OLD.id)) ORDER BY p.at DESC, p.id DESC LIMIT 1)
            UNION ALL SELECT OLD.status, coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= OLD.at ORDER BY b.start DESC LIMIT 1), ''), CASE WHEN (SELECT x.at FROM status_history x WHERE x.ticket_id = OLD.ticket_id AND (x.at > OLD.at OR (x.at = OLD.at AND x.id > OLD.id)) ORDER BY x.at, x.id LIMIT 1) IS NULL THEN '~' ELSE coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= (SELECT x.at FROM status_history x WHERE x.ticket_id = OLD.ticket_id AND (x.at > OLD.at OR (x.at = OLD.at AND x.id > OLD.id)) ORDER BY x.at, x.id LIMIT 1) ORDER BY b.start DESC LIMIT 1), '') END, -1
        ) u ON 1
        WHERE t.id = OLD.ticket_id AND t.customer IS NOT NULL AND t.merged_into IS NULL
        ON CONFLICT (customer, until_month, month, status, opened_month, answered_month) DO UPDATE SET n = n + excluded.n;
END;
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
CREATE TABLE message_trails (
    message_row INTEGER PRIMARY KEY REFERENCES messages(id),
    data BLOB NOT NULL
) STRICT;
CREATE INDEX tickets_customer_id ON tickets(customer, id, created_at, closed_at, first_response_at, waited, category, priority)
    WHERE merged_into IS NULL;
CREATE INDEX dictionaries_current ON dictionaries(kind, created_at DESC, id) WHERE retired_at IS NULL;
CREATE TABLE "outbox_rcpt" (
    address TEXT NOT NULL,
    created_at TEXT NOT NULL,
    outbox_id INTEGER NOT NULL REFERENCES outbox(id), kind TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (address, created_at, outbox_id)
) STRICT, WITHOUT ROWID;
CREATE TABLE blob_tails (
    id INTEGER PRIMARY KEY,
    data BLOB NOT NULL
) STRICT;
