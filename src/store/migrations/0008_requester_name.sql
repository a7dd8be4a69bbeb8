-- The requester's display name (from the From header of their mails), so
-- that every mail to the customer greets the requester, never the agent
-- whose mail caused it.
ALTER TABLE tickets ADD COLUMN requester_name TEXT;
