-- 0012: the security flag of a ticket, independent of its category: the
-- classifier suspected a security problem (a security rule, the model's
-- security probability above a low floor, words of exposure). An agent's
-- #category settles it (security_error -> 1, any other category -> 0).
ALTER TABLE tickets ADD COLUMN security_flag INTEGER NOT NULL DEFAULT 0 CHECK (security_flag IN (0, 1));
