-- 0005: the processing trail of each stored mail: what each stage decided
-- (JSON list of lines), shown by `supportd messages show ID`.
ALTER TABLE messages ADD COLUMN trail TEXT;
