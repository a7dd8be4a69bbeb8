-- 0002: the Message-IDs each stored mail refers to (In-Reply-To and
-- References), so a parent that arrives after its reply finds the reply's
-- ticket.

CREATE TABLE message_refs (
    message_row INTEGER NOT NULL REFERENCES messages(id),
    ref_id TEXT NOT NULL
) STRICT;

CREATE INDEX message_refs_ref ON message_refs(ref_id);
