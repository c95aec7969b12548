package auth

import (
	"bufio"
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"strings"
	"sync"
	"unicode/utf8"

	"kavach"
	"kavach/access"
	"kavach/journal"
	"kavach/node"
)

// Passwords: at least minPassword characters, not a common password, not
// the username itself. A user changes their own with the old one; an
// administrator's reset makes the user choose a new one at the next login
// (access.Session.MustChange), and ends the user's sessions.
const (
	minPassword = 10
	maxPassword = 128
)

//go:embed common-passwords.txt
var commonPasswordFile string

// commonPasswords are common passwords long enough to pass the length rule.
var commonPasswords = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(commonPasswordFile))
	for sc.Scan() {
		if l := sc.Text(); l != "" && !strings.HasPrefix(l, "#") {
			m[strings.ToLower(l)] = true
		}
	}
	return m
})

// PasswordProblem says what is wrong with a new password for username, if
// anything.
func PasswordProblem(username, pw string) string {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < minPassword:
		return "Password must have at least 10 characters"
	case len(pw) > maxPassword:
		return "Password must have at most 128 characters"
	case !utf8.ValidString(pw):
		return kavach.TextNotUTF8
	case commonPasswords()[strings.ToLower(pw)]:
		return "This password is one of the most common ones; choose another"
	case username != "" && strings.EqualFold(pw, username):
		return "Password must not be the username"
	}
	return ""
}

// PasswordReset is the payload of user.password_reset: an administrator
// set the password, and the user must choose a new one at the next login.
type PasswordReset struct {
	Password string `json:"password_hash"`
	Username string `json:"username"`
}

// UserPasswordReset is the event of an administrator's reset.
const UserPasswordReset node.Event[PasswordReset] = "user.password_reset"

// setPasswordMust sets a password and whether the user must change it, if
// no newer password is known (last writer wins by node.Stamp).
func setPasswordMust(ctx context.Context, db journal.DBTX, e *journal.Event, username, hash string, must bool) error {
	stamp := node.Stamp(e)
	_, err := db.ExecContext(ctx, `UPDATE users SET password = ?, must_change = ?, password_stamp = ? WHERE username = ? AND password_stamp < ?`,
		hash, must, stamp, username, stamp)
	return err
}

// ChangePassword sets the session's user's own password, given the old
// one, and ends the user's other sessions. A wrong old password counts in
// the login back-off of the user at client, as a failed login does: a
// session left open must not let anyone guess the password at leisure.
func (a *Auth) ChangePassword(ctx context.Context, s *access.Session, old, pw, client string) error {
	username := s.User.Username
	if old == "" {
		return &kavach.Error{Code: kavach.EINVALID, Message: "Please correct the marked fields.", Fields: map[string]string{"old_password": "Type your current password"}}
	}
	now := a.n.Now()
	a.mu.Lock()
	if msg, _ := a.fails.refusal(now, username, client); msg != "" {
		a.mu.Unlock()
		return errTooMany(msg)
	}
	a.fails.fail(now, username, client)
	a.mu.Unlock()
	var hash string
	err := a.n.DB().QueryRowContext(ctx, `SELECT password FROM users WHERE username = ?`, username).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return &kavach.Error{Code: kavach.ENOTFOUND, Message: "No user " + username + "."}
	}
	if err != nil {
		return err
	}
	f := kavach.Fields{}
	if !CheckPassword(hash, old) {
		f.Add("old_password", "This is not your current password")
	} else {
		a.mu.Lock()
		a.fails.forgive(now, username, client)
		a.mu.Unlock()
	}
	if p := PasswordProblem(username, pw); p != "" {
		f.Add("new_password", p)
	} else if pw == old {
		f.Add("new_password", "The new password must differ from the current one")
	}
	if err := f.Err(); err != nil {
		return err
	}
	newHash, err := HashPassword(pw)
	if err != nil {
		return err
	}
	err = a.n.Do(ctx, username, func(tx *node.Tx) error {
		if _, err := node.Emit(tx, PasswordSet, Password{Password: newHash, Username: username}); err != nil {
			return err
		}
		_, err := endSessions(tx, `username = ? AND id != ?`, username, s.ID)
		return err
	})
	a.purge()
	return err
}

// ResetPassword sets a user's password as an administrator: the user must
// choose a new one at the next login, and every session of theirs ends.
func (a *Auth) ResetPassword(ctx context.Context, actor, username, pw string) error {
	username = strings.ToLower(strings.TrimSpace(username))
	if p := PasswordProblem(username, pw); p != "" {
		return &kavach.Error{Code: kavach.EINVALID, Message: "Please choose another password.", Fields: map[string]string{"password": p}}
	}
	hash, err := HashPassword(pw)
	if err != nil {
		return err
	}
	err = a.n.Do(ctx, actor, func(tx *node.Tx) error {
		var one int
		if err := tx.QueryRow(`SELECT 1 FROM users WHERE username = ?`, username).Scan(&one); err != nil {
			return &kavach.Error{Code: kavach.ENOTFOUND, Message: "No user " + username + ".", Fields: map[string]string{"username": "No such user"}}
		}
		if _, err := node.Emit(tx, UserPasswordReset, PasswordReset{Password: hash, Username: username}); err != nil {
			return err
		}
		_, err := endSessions(tx, `username = ?`, username)
		return err
	})
	a.purge()
	return err
}
