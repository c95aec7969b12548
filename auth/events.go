package auth

import (
	"context"
	"database/sql"

	"kavach/journal"
	"kavach/node"
)

// The users' and sessions' event types. Their payloads are frozen contracts
// (docs/architecture.md): a change is a new type, never an edit.
const (
	UserAdded      node.Event[Added]      = "user.added"
	UserDisabled   node.Event[UserRef]    = "user.disabled"
	UserEnabled    node.Event[UserRef]    = "user.enabled"
	PasswordSet    node.Event[Password]   = "user.password_set"
	UserUnlocked   node.Event[UserRef]    = "user.unlocked"
	SessionStarted node.Event[Started]    = "session.started"
	SessionEnded   node.Event[SessionRef] = "session.ended"
)

// Added is the payload of user.added. The password is an argon2id hash.
type Added struct {
	FullName string `json:"full_name"`
	Password string `json:"password_hash"`
	Role     string `json:"role"`
	Username string `json:"username"`
}

// UserRef is the payload of user.disabled and user.enabled.
type UserRef struct {
	Username string `json:"username"`
}

// Password is the payload of user.password_set: the new argon2id hash.
type Password struct {
	Password string `json:"password_hash"`
	Username string `json:"username"`
}

// Started is the payload of session.started. Session is the sha256 of the
// token, never the token.
type Started struct {
	Expires  string `json:"expires"`
	Kind     string `json:"kind"`
	Session  string `json:"session"`
	Username string `json:"username"`
}

// SessionRef is the payload of session.ended.
type SessionRef struct {
	Session string `json:"session"`
}

// events are the projectors of users and sessions. Each is a function of
// the set of events, whatever order events of several origins arrive in: a
// user's identity, password and disabled flag each hold their newest event
// (last writer wins by node.Stamp); a session, whose id is random, ends at
// its earliest end.
var events = []node.Handler{
	node.On(UserAdded, func(p *node.Projection, e *journal.Event, v *Added) error {
		return setUser(p.Context(), p, e, v)
	}),
	node.On(UserDisabled, func(p *node.Projection, e *journal.Event, v *UserRef) error {
		return setDisabled(p.Context(), p, e, v.Username, true)
	}),
	node.On(UserEnabled, func(p *node.Projection, e *journal.Event, v *UserRef) error {
		return setDisabled(p.Context(), p, e, v.Username, false)
	}),
	node.On(PasswordSet, func(p *node.Projection, e *journal.Event, v *Password) error {
		return setPasswordMust(p.Context(), p, e, v.Username, v.Password, false)
	}),
	node.On(UserPasswordReset, func(p *node.Projection, e *journal.Event, v *PasswordReset) error {
		return setPasswordMust(p.Context(), p, e, v.Username, v.Password, true)
	}),
	node.On(UserUnlocked, func(p *node.Projection, e *journal.Event, v *UserRef) error {
		t := e.Time.Format(journal.TimeFormat)
		_, err := p.Exec(`UPDATE users SET unlocked = ? WHERE username = ? AND unlocked < ?`, t, v.Username, t)
		return err
	}),
	node.On(SessionStarted, func(p *node.Projection, e *journal.Event, v *Started) error {
		_, err := p.Exec(`INSERT INTO sessions (id, username, kind, started, expires) VALUES (?, ?, ?, ?, ?)`,
			v.Session, v.Username, v.Kind, e.Time.Format(journal.TimeFormat), v.Expires)
		return err
	}),
	node.On(SessionEnded, func(p *node.Projection, e *journal.Event, v *SessionRef) error {
		t := e.Time.Format(journal.TimeFormat)
		_, err := p.Exec(`UPDATE sessions SET ended = ? WHERE id = ? AND (ended IS NULL OR ended > ?)`, t, v.Session, t)
		return err
	}),
}

func setUser(ctx context.Context, db journal.DBTX, e *journal.Event, v *Added) error {
	stamp := node.Stamp(e)
	if _, err := db.ExecContext(ctx, `INSERT INTO users (username, full_name, role, password, created, stamp) VALUES (?, ?, ?, '', ?, ?)
		ON CONFLICT (username) DO UPDATE SET full_name = excluded.full_name, role = excluded.role, created = excluded.created,
		stamp = excluded.stamp WHERE excluded.stamp > users.stamp`,
		v.Username, v.FullName, v.Role, e.Time.Format(journal.TimeFormat), stamp); err != nil {
		return err
	}
	return setPassword(ctx, db, e, v.Username, v.Password)
}

func setPassword(ctx context.Context, db journal.DBTX, e *journal.Event, username, hash string) error {
	stamp := node.Stamp(e)
	_, err := db.ExecContext(ctx, `UPDATE users SET password = ?, password_stamp = ? WHERE username = ? AND password_stamp < ?`, hash, stamp, username, stamp)
	return err
}

func setDisabled(ctx context.Context, db journal.DBTX, e *journal.Event, username string, disabled bool) error {
	stamp := node.Stamp(e)
	_, err := db.ExecContext(ctx, `UPDATE users SET disabled = ?, disabled_stamp = ? WHERE username = ? AND disabled_stamp < ?`, disabled, stamp, username, stamp)
	return err
}

// migrateOrigins is migration 002's Go step: the stamps of every user's
// row, from the journal, as the projectors now set them.
var migrateOrigins = node.Steps(
	node.Reapply(UserAdded, func(ctx context.Context, tx *sql.Tx, e *journal.Event, v *Added) error {
		return setUser(ctx, tx, e, v)
	}),
	node.Reapply(PasswordSet, func(ctx context.Context, tx *sql.Tx, e *journal.Event, v *Password) error {
		return setPassword(ctx, tx, e, v.Username, v.Password)
	}),
	node.Reapply(UserDisabled, func(ctx context.Context, tx *sql.Tx, e *journal.Event, v *UserRef) error {
		return setDisabled(ctx, tx, e, v.Username, true)
	}),
	node.Reapply(UserEnabled, func(ctx context.Context, tx *sql.Tx, e *journal.Event, v *UserRef) error {
		return setDisabled(ctx, tx, e, v.Username, false)
	}),
)
