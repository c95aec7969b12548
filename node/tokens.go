package node

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"time"
)

// Replication tokens are node-local credentials, not hospital data: they live
// in a local_ table outside the journal, only as hashes.
const tokensSchema = `CREATE TABLE IF NOT EXISTS local_replication_tokens (
	id      TEXT PRIMARY KEY,
	scope   TEXT NOT NULL,
	created TEXT NOT NULL
)`

// ReplicationTokenPrefix begins every replication token, so that one given
// where a user's session is wanted can be told apart.
const ReplicationTokenPrefix = "kvr_"

// NewReplicationToken stores the hash of a new read-only replication token
// for the node in dir and returns the token.
func NewReplicationToken(ctx context.Context, dir string) (string, error) {
	if _, err := os.Stat(DBPath(dir)); err != nil {
		return "", fmt.Errorf("no Kavach node in %s", dir)
	}
	db, err := OpenDB(DBPath(dir))
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, tokensSchema); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	tok := ReplicationTokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	if _, err := db.ExecContext(ctx, `INSERT INTO local_replication_tokens (id, scope, created) VALUES (?, 'replicate', ?)`,
		TokenID(tok), time.Now().UTC().Format(time.RFC3339)); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	return tok, nil
}

// TokenID is the stored hash of a token.
func TokenID(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}
