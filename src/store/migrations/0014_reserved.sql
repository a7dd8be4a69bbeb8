-- 0014: reserved for parallel work (issue branches); the lead replaces this
-- placeholder with the real migration of that number when merging.
SELECT 1;
