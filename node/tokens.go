package node

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	"kavach"
	"kavach/journal"
)

// Replication tokens are node-local credentials, not hospital data: they live
// in a local_ table outside the journal, only as hashes. Each has a name
// (which vault or replica holds it), and may have an expiry; an
// administrator lists them and revokes one that leaked. A token reads the
// whole journal in the clear: every patient's record, every read of one,
// password hashes (docs/vault.md).
const tokensSchema = `CREATE TABLE IF NOT EXISTS local_replication_tokens (
	id      TEXT PRIMARY KEY,
	scope   TEXT NOT NULL,
	created TEXT NOT NULL
)`

// tokenNamesSchema (migration node/007) names tokens and lets them expire
// and be revoked.
const tokenNamesSchema = `
ALTER TABLE local_replication_tokens ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE local_replication_tokens ADD COLUMN expires TEXT NOT NULL DEFAULT '';
ALTER TABLE local_replication_tokens ADD COLUMN revoked TEXT NOT NULL DEFAULT '';
`

// ReplicationTokenPrefix begins every replication token, so that one given
// where a user's session is wanted can be told apart.
const ReplicationTokenPrefix = "kvr_"

// TokenInfo is what the node knows of a replication token: never the token.
type TokenInfo struct {
	ID      string    `json:"id"` // the first 12 hex digits of its hash
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires,omitzero"` // zero: never
	Revoked time.Time `json:"revoked,omitzero"`
}

// Live reports whether the token still opens the replication endpoints.
func (t TokenInfo) Live(now time.Time) bool {
	return t.Revoked.IsZero() && (t.Expires.IsZero() || now.Before(t.Expires))
}

// tokenDB opens the database of the node in dir for a token change.
func tokenDB(dir string) (*sql.DB, error) {
	if _, err := os.Stat(DBPath(dir)); err != nil {
		return nil, fmt.Errorf("no Kavach node in %s", dir)
	}
	return OpenDB(DBPath(dir))
}

// NewReplicationToken stores the hash of a new read-only replication token
// for the node in dir, named for who holds it, valid for ttl (0: until
// revoked), and returns the token.
func NewReplicationToken(ctx context.Context, dir, name string, ttl time.Duration) (string, error) {
	name = strings.TrimSpace(name)
	f := kavach.Fields{}
	if name == "" || len(name) > 100 {
		f.Add("name", "Token name must have 1 to 100 characters: say which vault or replica holds it")
	}
	f.Text("name", name)
	if ttl < 0 {
		f.Add("expires", "Expiry must be in the future")
	}
	if err := f.Err(); err != nil {
		return "", err
	}
	db, err := tokenDB(dir)
	if err != nil {
		return "", err
	}
	defer db.Close()
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	tok := ReplicationTokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	now := time.Now().UTC()
	expires := ""
	if ttl > 0 {
		expires = now.Add(ttl).Format(journal.TimeFormat)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO local_replication_tokens (id, scope, created, name, expires) VALUES (?, 'replicate', ?, ?, ?)`,
		TokenID(tok), now.Format(journal.TimeFormat), name, expires); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	return tok, nil
}

// TokenID is the stored hash of a token.
func TokenID(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// ReplicationTokens lists the node's replication tokens, newest first.
func ReplicationTokens(ctx context.Context, db journal.DBTX) ([]TokenInfo, error) {
	rows, err := db.QueryContext(ctx, `SELECT id, name, created, expires, revoked FROM local_replication_tokens ORDER BY created DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ts := []TokenInfo{}
	for rows.Next() {
		var t TokenInfo
		var created, expires, revoked string
		if err := rows.Scan(&t.ID, &t.Name, &created, &expires, &revoked); err != nil {
			return nil, err
		}
		t.ID = t.ID[:min(12, len(t.ID))]
		t.Created = parseTokenTime(created)
		t.Expires = parseTokenTime(expires)
		t.Revoked = parseTokenTime(revoked)
		ts = append(ts, t)
	}
	return ts, rows.Err()
}

// parseTokenTime reads a token's time: the journal's format, or the RFC
// 3339 of the tokens made before names.
func parseTokenTime(s string) time.Time {
	if t, err := time.Parse(journal.TimeFormat, s); err == nil {
		return t
	}
	t, _ := time.Parse(time.RFC3339, s)
	return t
}

// RevokeToken revokes the replication token whose hash begins with id (as
// ReplicationTokens shows it), or that is named id if no hash does.
func RevokeToken(ctx context.Context, dir, id string) (*TokenInfo, error) {
	id = strings.TrimSpace(id)
	if id == "" {
		return nil, &kavach.Error{Code: kavach.EINVALID, Message: "Say which token: its id or its name.", Fields: map[string]string{"id": "required"}}
	}
	db, err := tokenDB(dir)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	ts, err := ReplicationTokens(ctx, db)
	if err != nil {
		return nil, err
	}
	var match []TokenInfo
	for _, t := range ts {
		if len(id) >= 6 && strings.HasPrefix(t.ID, strings.ToLower(id)) {
			match = append(match, t)
		}
	}
	if len(match) == 0 {
		for _, t := range ts {
			if t.Name == id && t.Revoked.IsZero() {
				match = append(match, t)
			}
		}
	}
	switch {
	case len(match) == 0:
		return nil, &kavach.Error{Code: kavach.ENOTFOUND, Message: "No replication token " + id + ".", Fields: map[string]string{"id": "no such token"}}
	case len(match) > 1:
		return nil, &kavach.Error{Code: kavach.EINVALID, Message: "More than one token is " + id + ": give its id.", Fields: map[string]string{"id": "ambiguous"}}
	}
	t := match[0]
	if t.Revoked.IsZero() {
		t.Revoked = time.Now().UTC()
		if _, err := db.ExecContext(ctx, `UPDATE local_replication_tokens SET revoked = ? WHERE id LIKE ? AND revoked = ''`,
			t.Revoked.Format(journal.TimeFormat), t.ID+"%"); err != nil {
			return nil, err
		}
	}
	return &t, nil
}
