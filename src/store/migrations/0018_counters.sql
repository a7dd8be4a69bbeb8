-- 0018: counters of the rows `status` and the metrics show (issue #18:
-- `status` took 33-68 ms at 200,000 mails, counting the outbox, the mails
-- and the tickets in their indexes, growing with them). One row per scope
-- and value: `messages` by disposition, `outbox` by state, `tickets` by
-- status. Triggers keep them in the transaction that writes the rows, for
-- every writer (pipeline, clock, CLI, retention, forget); `status` reads a
-- few rows whatever the store's size. A count never goes below what the
-- table holds: tests/counters.rs compares them with count(*) after a mixed
-- workload.
CREATE TABLE counters (
    scope TEXT NOT NULL CHECK (scope IN ('messages', 'outbox', 'tickets')),
    key TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) STRICT, WITHOUT ROWID;

INSERT INTO counters (scope, key, n)
    SELECT 'messages', disposition, count(*) FROM messages WHERE disposition IS NOT NULL GROUP BY disposition;
INSERT INTO counters (scope, key, n) SELECT 'outbox', state, count(*) FROM outbox GROUP BY state;
INSERT INTO counters (scope, key, n) SELECT 'tickets', status, count(*) FROM tickets GROUP BY status;

-- A mail's disposition is NULL only inside the transaction that stored its
-- raw bytes: counted when it gets one.
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

-- A report reads the escalations of its period, not every event of each
-- of its tickets (a yearly report of 46,785 tickets did); partial, so the
-- index holds the escalations only.
CREATE INDEX events_escalation ON events(at) WHERE kind = 'escalation';

-- A ticket overview (an `#overview` mail) lists some of a customer's open
-- and closed tickets and counts the rest from this (it read every ticket
-- of the customer). A sender without a customer: `tickets_requester`.
CREATE INDEX tickets_customer_live ON tickets(customer, status) WHERE merged_into IS NULL;

-- A report's tickets and their histories from the indexes alone (a yearly
-- report read each of its tickets' rows and history rows from the table:
-- page reads all over the file). The history index replaces
-- status_history_ticket, whose columns it starts with.
CREATE INDEX tickets_report ON tickets(customer, created_at, closed_at, category, level, priority, billable, first_response_at,
    merged_into)
    WHERE merged_into IS NULL;
CREATE INDEX status_history_status ON status_history(ticket_id, at, status);
DROP INDEX status_history_ticket;
