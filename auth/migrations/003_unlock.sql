-- When an administrator last unlocked each user after too many failed
-- logins (the newest unlock wins), and whether the user must choose a new
-- password at the next login (an administrator reset it).
ALTER TABLE users ADD COLUMN unlocked TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN must_change INTEGER NOT NULL DEFAULT 0;
