-- Staff users and their login sessions.
CREATE TABLE users (
	username  TEXT PRIMARY KEY,
	full_name TEXT NOT NULL,
	role      TEXT NOT NULL,
	password  TEXT NOT NULL,
	disabled  INTEGER NOT NULL DEFAULT 0,
	created   TEXT NOT NULL
);
CREATE TABLE sessions (
	id       TEXT PRIMARY KEY,
	username TEXT NOT NULL,
	kind     TEXT NOT NULL,
	started  TEXT NOT NULL,
	expires  TEXT NOT NULL,
	ended    TEXT
);
