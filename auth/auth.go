// Package auth is the staff users: their accounts and roles, their
// passwords (argon2id), login sessions for the API and the pages, and
// back-off after failed logins. Every change to a user or a session is a
// journaled event. What each role may do is package access's.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"

	"kavach"
	"kavach/access"
	"kavach/journal"
	"kavach/node"
)

// ManageUsers is the users' one permission: add, disable and enable staff.
const ManageUsers access.Permission = "users.manage"

// grants are who may manage users.
var grants = []access.Grant{
	{Permission: ManageUsers, What: "Add, disable and enable staff users, reset their passwords, unlock them; revoke replication tokens", Roles: []access.Role{access.Admin}},
}

// SessionTTL is how long a login lasts: one long shift.
const SessionTTL = 14 * time.Hour

//go:embed migrations/*.sql
var migrationFS embed.FS

// Data is the users' part of a node: their tables and events.
func Data() node.Service {
	return node.Service{
		Name: "auth",
		Migrations: node.Migrations("auth", migrationFS, "migrations", map[string]func(context.Context, *sql.Tx) error{
			"002": migrateOrigins,
		}),
		Events: events,
	}
}

// Password hashing: argon2id with OWASP's recommended minimum (19 MiB, two
// passes), encoded in the PHC string format; the parameters are in the string,
// so they can be raised later without breaking old hashes.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns an argon2id PHC string for the password.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// CheckPassword reports whether pw matches the PHC string.
func CheckPassword(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1
}

var usernameRE = regexp.MustCompile(`^[a-z][a-z0-9._-]{1,31}$`)

// NewUser is the input for adding a user.
type NewUser struct {
	Username, FullName, Password string
	Role                         access.Role
}

// Validate says which fields are wrong.
func (u *NewUser) Validate() error {
	f := kavach.Fields{}
	u.Username = strings.ToLower(strings.TrimSpace(u.Username))
	u.FullName = strings.TrimSpace(u.FullName)
	if !usernameRE.MatchString(u.Username) {
		f.Add("username", "Username must be 2 to 32 small letters, digits, dots, hyphens or underscores, starting with a letter")
	}
	if u.FullName == "" {
		u.FullName = u.Username
	}
	if len(u.FullName) > 100 {
		f.Add("full_name", "Full name must be at most 100 characters")
	}
	f.Text("full_name", u.FullName)
	if !u.Role.Valid() {
		f.Add("role", "Role must be one of admin, registration, doctor, lab, billing, nurse, auditor, records")
	}
	if p := PasswordProblem(u.Username, u.Password); p != "" {
		f.Add("password", p)
	}
	return f.Err()
}

// Auth answers who a request is and records logins.
type Auth struct {
	n      *node.Node
	policy *access.Policy

	mu    sync.Mutex
	cache map[string]cached // session id → session
	fails *backoff
}

type cached struct {
	s    *access.Session
	seen time.Time
}

// New returns the auth service of a node; its sessions can what policy says.
func New(n *node.Node, policy *access.Policy) *Auth {
	return &Auth{n: n, policy: policy, cache: map[string]cached{}, fails: newBackoff()}
}

// AddUser adds a user. The password is hashed before the writer sees it.
func (a *Auth) AddUser(ctx context.Context, actor string, u NewUser) error {
	if err := u.Validate(); err != nil {
		return err
	}
	hash, err := HashPassword(u.Password)
	if err != nil {
		return err
	}
	return a.n.Do(ctx, actor, func(tx *node.Tx) error {
		var one int
		err := tx.QueryRow(`SELECT 1 FROM users WHERE username = ?`, u.Username).Scan(&one)
		if err == nil {
			return &kavach.Error{Code: kavach.ECONFLICT, Message: "That username is taken.", Fields: map[string]string{"username": "Username " + u.Username + " already exists"}}
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err = node.Emit(tx, UserAdded, Added{Username: u.Username, FullName: u.FullName, Role: string(u.Role), Password: hash})
		return err
	})
}

// SetDisabled disables or re-enables a user. Disabling ends the user's sessions.
func (a *Auth) SetDisabled(ctx context.Context, actor, username string, disabled bool) error {
	username = strings.ToLower(strings.TrimSpace(username))
	err := a.n.Do(ctx, actor, func(tx *node.Tx) error {
		var was bool
		err := tx.QueryRow(`SELECT disabled FROM users WHERE username = ?`, username).Scan(&was)
		if errors.Is(err, sql.ErrNoRows) {
			return &kavach.Error{Code: kavach.ENOTFOUND, Message: "No user " + username + ".", Fields: map[string]string{"username": "No such user"}}
		}
		if err != nil {
			return err
		}
		if disabled && username == actor {
			return &kavach.Error{Code: kavach.EINVALID, Message: "You cannot disable your own account.", Fields: map[string]string{"username": "You cannot disable yourself"}}
		}
		if was == disabled {
			return nil
		}
		if !disabled {
			_, err = node.Emit(tx, UserEnabled, UserRef{username})
			return err
		}
		if _, err := node.Emit(tx, UserDisabled, UserRef{username}); err != nil {
			return err
		}
		_, err = endSessions(tx, `username = ?`, username)
		return err
	})
	a.purge()
	return err
}

// endSessions journals the end of every open session that where selects.
func endSessions(tx *node.Tx, where string, args ...any) (int, error) {
	rows, err := tx.Query(`SELECT id FROM sessions WHERE ended IS NULL AND `+where+` ORDER BY id`, args...)
	if err != nil {
		return 0, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, id := range ids {
		if _, err := node.Emit(tx, SessionEnded, SessionRef{id}); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// EndAllSessions ends every session still open, journaled as each one's
// end. A node restored after an attack calls it: a token the attacker may
// have taken from the attacked node must not open the restored one.
func (a *Auth) EndAllSessions(ctx context.Context, actor string) (int, error) {
	var n int
	err := a.n.Do(ctx, actor, func(tx *node.Tx) (err error) {
		n, err = endSessions(tx, `expires > ?`, tx.Now.UTC().Format(journal.TimeFormat))
		return err
	})
	a.purge()
	return n, err
}

// Users lists every user.
func Users(ctx context.Context, db journal.DBTX) ([]access.User, error) {
	rows, err := db.QueryContext(ctx, `SELECT username, full_name, role, disabled, created FROM users ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("auth: users: %w", err)
	}
	defer rows.Close()
	var us []access.User
	for rows.Next() {
		var u access.User
		var created string
		if err := rows.Scan(&u.Username, &u.FullName, &u.Role, &u.Disabled, &created); err != nil {
			return nil, err
		}
		u.Created, _ = time.Parse(journal.TimeFormat, created)
		us = append(us, u)
	}
	return us, rows.Err()
}

// Login checks a password and starts a session, returning its token.
// client is the address the login came from (as a trusted proxy names it):
// it keys the back-off (backoff.go), so that one attacker cannot lock a user
// out of every counter.
func (a *Auth) Login(ctx context.Context, username, password, kind, client string) (string, *access.Session, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	now := a.n.Now()
	a.mu.Lock()
	msg, ceiling := a.fails.refusal(now, username, client)
	if msg != "" && ceiling && a.unlockedSince(ctx, username, a.fails.since(now, username)) {
		a.fails.unlock(username)
		msg = ""
	}
	if msg != "" {
		a.mu.Unlock()
		return "", nil, errTooMany(msg)
	}
	a.fails.fail(now, username, client)
	a.mu.Unlock()

	var hash string
	var u access.User
	var must bool
	err := a.n.DB().QueryRowContext(ctx, `SELECT username, full_name, role, disabled, password, must_change FROM users WHERE username = ?`, username).
		Scan(&u.Username, &u.FullName, &u.Role, &u.Disabled, &hash, &must)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", nil, err
	}
	ok := err == nil && CheckPassword(hash, password) && !u.Disabled
	if err != nil {
		// Spend the same time for an unknown user as for a wrong password.
		CheckPassword(dummyHash(), password)
	}
	if !ok {
		return "", nil, kavach.Errorf(kavach.EUNAUTHORIZED, "Wrong username or password.")
	}
	a.mu.Lock()
	a.fails.forgive(now, username, client)
	a.mu.Unlock()

	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, err
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	s := &access.Session{ID: sessionID(token), User: u, Kind: kind, Expires: now.Add(SessionTTL).UTC(), Policy: a.policy, MustChange: must}
	err = a.n.Do(ctx, u.Username, func(tx *node.Tx) error {
		_, err := node.Emit(tx, SessionStarted, Started{Session: s.ID, Username: u.Username, Kind: kind, Expires: s.Expires.Format(journal.TimeFormat)})
		return err
	})
	if err != nil {
		return "", nil, err
	}
	return token, s, nil
}

// unlockedSince reports whether an administrator unlocked the user after
// since (kavach user unlock may run in another process: the journal says).
func (a *Auth) unlockedSince(ctx context.Context, username string, since time.Time) bool {
	var t string
	if err := a.n.DB().QueryRowContext(ctx, `SELECT unlocked FROM users WHERE username = ?`, username).Scan(&t); err != nil || t == "" {
		return false
	}
	at, err := time.Parse(journal.TimeFormat, t)
	return err == nil && at.After(since)
}

// Unlock lets a user log in again from every computer after too many
// failed logins, and journals who did it.
func (a *Auth) Unlock(ctx context.Context, actor, username string) error {
	username = strings.ToLower(strings.TrimSpace(username))
	err := a.n.Do(ctx, actor, func(tx *node.Tx) error {
		var one int
		if err := tx.QueryRow(`SELECT 1 FROM users WHERE username = ?`, username).Scan(&one); err != nil {
			return &kavach.Error{Code: kavach.ENOTFOUND, Message: "No user " + username + ".", Fields: map[string]string{"username": "No such user"}}
		}
		_, err := node.Emit(tx, UserUnlocked, UserRef{username})
		return err
	})
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.fails.unlock(username)
	a.mu.Unlock()
	return nil
}

var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("kavach-timing-equaliser")
	return h
})

func sessionID(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// cacheTTL bounds how long a session stays trusted from memory: a user
// disabled by another process (kavach user disable) loses access within it.
const cacheTTL = 2 * time.Second

// Authenticate returns the live session for a token.
func (a *Auth) Authenticate(ctx context.Context, token string) (*access.Session, error) {
	if token == "" {
		return nil, kavach.Errorf(kavach.EUNAUTHORIZED, "Please log in.")
	}
	id := sessionID(token)
	now := a.n.Now()
	a.mu.Lock()
	c, ok := a.cache[id]
	a.mu.Unlock()
	if ok && now.Sub(c.seen) < cacheTTL && now.Before(c.s.Expires) {
		return c.s, nil
	}
	s := &access.Session{ID: id, Policy: a.policy}
	var expires string
	var ended sql.NullString
	err := a.n.DB().QueryRowContext(ctx, `SELECT s.kind, s.expires, s.ended, u.username, u.full_name, u.role, u.disabled, u.must_change
		FROM sessions s JOIN users u ON u.username = s.username WHERE s.id = ?`, id).
		Scan(&s.Kind, &expires, &ended, &s.User.Username, &s.User.FullName, &s.User.Role, &s.User.Disabled, &s.MustChange)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kavach.Errorf(kavach.EUNAUTHORIZED, "Your session is not valid. Please log in again.")
	}
	if err != nil {
		return nil, err
	}
	s.Expires, _ = time.Parse(journal.TimeFormat, expires)
	if ended.Valid || s.User.Disabled || now.After(s.Expires) {
		return nil, kavach.Errorf(kavach.EUNAUTHORIZED, "Your session has ended. Please log in again.")
	}
	a.mu.Lock()
	if len(a.cache) > 100000 {
		a.cache = map[string]cached{}
	}
	a.cache[id] = cached{s, now}
	a.mu.Unlock()
	return s, nil
}

// Logout ends the session of a token.
func (a *Auth) Logout(ctx context.Context, s *access.Session) error {
	err := a.n.Do(ctx, s.User.Username, func(tx *node.Tx) error {
		_, err := node.Emit(tx, SessionEnded, SessionRef{s.ID})
		return err
	})
	a.purge()
	return err
}

func (a *Auth) purge() {
	a.mu.Lock()
	a.cache = map[string]cached{}
	a.mu.Unlock()
}
