-- 0017: the first level's follow-through (issue #19). Each table records a
-- mail in the same transaction as its outbox row, so the unique indexes make
-- it exactly-once across restarts, like `reports_sent`.

-- The handover mail at support start. `schedule` (first seen by the clock)
-- and `known` (the customer was there before this table: recorded, no mail)
-- happen once per customer; `manual` (`supportd customer welcome NAME`) may repeat.
CREATE TABLE welcome_sent (
    id INTEGER PRIMARY KEY,
    customer TEXT NOT NULL,
    trigger TEXT NOT NULL CHECK (trigger IN ('schedule', 'manual', 'known')),
    outbox_id INTEGER REFERENCES outbox(id),
    created_at TEXT NOT NULL
) STRICT;

CREATE UNIQUE INDEX welcome_sent_once ON welcome_sent(customer) WHERE trigger IN ('schedule', 'known');

-- Draft knowledge-base articles from agents' answers (`#kb`), for review.
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

-- The daily digest of a level's team: one per level and local date.
CREATE TABLE digests_sent (
    id INTEGER PRIMARY KEY,
    level INTEGER NOT NULL CHECK (level BETWEEN 1 AND 3),
    -- YYYY-MM-DD in the support time zone.
    day TEXT NOT NULL,
    outbox_id INTEGER REFERENCES outbox(id),
    created_at TEXT NOT NULL,
    UNIQUE (level, day)
) STRICT;

-- Reminders and automatic closes of tickets waiting on the customer: one of
-- each per waiting period (`waiting_since`: when the ticket went to waiting).
CREATE TABLE followups_sent (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    kind TEXT NOT NULL CHECK (kind IN ('reminder', 'closed')),
    waiting_since TEXT NOT NULL,
    outbox_id INTEGER REFERENCES outbox(id),
    created_at TEXT NOT NULL,
    UNIQUE (ticket_id, kind, waiting_since)
) STRICT;
