-- 0025: the outgoing mail's kind beside each of its recipients. The cap on
-- automatic answers counts one address's mails of one kind (ack, overview)
-- in the last day; it read every mail to the address in that day and looked
-- each one's kind up in `outbox` (a row apart, among the mails' packed
-- bodies): 28 % of the writer's time over 3,000 mails from a dozen
-- senders with the caps lifted. Now it reads the recipients' rows alone.
ALTER TABLE outbox_rcpt ADD COLUMN kind TEXT NOT NULL DEFAULT '';
-- (A recipient row whose mail is gone, which the foreign key forbids but a
-- hand-edited file may hold, keeps '': the cap does not count it.)
UPDATE outbox_rcpt SET kind = coalesce((SELECT o.kind FROM outbox o WHERE o.id = outbox_rcpt.outbox_id), '');
