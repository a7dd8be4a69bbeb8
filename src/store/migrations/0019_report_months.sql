-- 0019: a ticket report's figures per customer and month (issue #18: a
-- yearly report read every ticket of the period and its history, about
-- 3 us a ticket: 81-93 ms CPU at 100,000 mails). Kept by triggers in the
-- transaction that writes the ticket or its history, for every writer;
-- `supportd report` (text, HTML) sums a few hundred rows whatever the size
-- (src/reports/fast.rs; docs/contracts.md "Report figures kept per month").
--
-- Months are the support calendar's (`[hours] timezone`): `report_bounds`
-- holds the instant each local month starts (UTC, as stored), written by
-- `store::report_months::refresh` with the configured zone; the rows are
-- filled there too (this migration cannot know the zone or the support
-- hours). Until then the triggers write rows keyed '' that the fill
-- replaces, and a report reads the tickets as before.
--
-- The figures (a ticket of a customer, not merged away, counts):
--   report_opened: tickets by the month they were opened, by category,
--     level, priority, billable, and whether they are open and unanswered
--     now (the SLA of the current period);
--   report_first: answered tickets by opened month, answered month,
--     category, priority and first response in support minutes (with
--     whether the seconds were whole: the target compares seconds), a
--     histogram exact to the minute (median, 90th percentile, met/missed);
--   report_spans: status history rows by status, their month and the month
--     of the ticket's next history row ('~': none). The status of a ticket
--     at the end of month L is that of its row with month <= L < until_month,
--     so "open at the period's end" and "closed in the period" are sums;
--     with the month its ticket was opened and answered ('~': not yet), so
--     "opened in the period, open and unanswered at its end" is one too.
-- `tickets.first_response_secs`: the first response in support seconds
-- (the clock paused while waiting), set by the writer that has the
-- calendar; `tickets.waited`: the ticket waited on the customer before its
-- first answer (its unanswered time has pauses: read one by one).
ALTER TABLE tickets ADD COLUMN first_response_secs INTEGER;
ALTER TABLE tickets ADD COLUMN waited INTEGER NOT NULL DEFAULT 0 CHECK (waited IN (0, 1));
UPDATE tickets SET waited = 1 WHERE EXISTS (SELECT 1 FROM status_history h WHERE h.ticket_id = tickets.id
    AND h.status = 'waiting' AND (tickets.first_response_at IS NULL OR h.at < tickets.first_response_at));

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

-- The few tickets a report still reads one by one: the unanswered ones
-- (their SLA depends on the period's end), those that waited before their
-- answer, answered ones without their support seconds yet, the tickets it
-- lists (by id, with LIMIT) and those closed after a past period's end.
CREATE INDEX tickets_report_unanswered ON tickets(customer, created_at, closed_at, status, waited, category, priority)
    WHERE merged_into IS NULL AND first_response_at IS NULL;
CREATE INDEX tickets_waited ON tickets(customer, created_at) WHERE waited = 1 AND merged_into IS NULL;
CREATE INDEX tickets_answered ON tickets(customer, first_response_at, created_at) WHERE merged_into IS NULL;
CREATE INDEX tickets_unmeasured ON tickets(customer, created_at)
    WHERE first_response_at IS NOT NULL AND first_response_secs IS NULL;
CREATE INDEX tickets_closed ON tickets(customer, closed_at, created_at) WHERE merged_into IS NULL;
CREATE INDEX tickets_customer_id ON tickets(customer, id, created_at, closed_at) WHERE merged_into IS NULL;

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

-- A ticket that changes customer, is merged away (or back), or gets its
-- first answer, takes its history's spans with it.
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
