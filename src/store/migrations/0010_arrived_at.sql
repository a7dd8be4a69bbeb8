-- When a mail reached our own server (IMAP INTERNALDATE, the Maildir
-- delivery time, our MTA's topmost Received header, else the processing
-- time); received_at keeps the processing time. Every decision about the
-- mail (SLA start, support-hours wording, caps, reopen window) uses it.
ALTER TABLE messages ADD COLUMN arrived_at TEXT;
