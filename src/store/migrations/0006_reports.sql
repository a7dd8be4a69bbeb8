-- 0006: periodic ticket reports. One row per report mail queued; the
-- partial unique index makes the scheduled report exactly-once per
-- customer and period (across restarts: the row commits with its outbox row).
-- `manual` rows (`supportd report --send`) may repeat.

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
