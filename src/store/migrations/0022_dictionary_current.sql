-- 0022: a kind's current dictionary by an index. Every compressed write
-- (a mail's stored form, an outgoing mail, a trail: three per mail) asked
-- for it by reading the dictionaries table, whose rows hold the 64 KB
-- dictionary before the columns the question needs: the overflow pages of
-- every dictionary (16 each) were walked for each write.
CREATE INDEX dictionaries_current ON dictionaries(kind, created_at DESC, id) WHERE retired_at IS NULL;
