package node

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"kavach/journal"
)

// Replication: a vault (or a replica) pulls the journal with a read-only
// token. It sees only synced events, with a checkpoint over exactly what it
// was given, so a crash of the node can never leave a vault holding events
// the node lost.

const replicationSchema = tokensSchema + `;
CREATE TABLE IF NOT EXISTS local_vaults (
	name       TEXT PRIMARY KEY,
	size       INTEGER NOT NULL,
	checkpoint BLOB NOT NULL,
	time       TEXT NOT NULL
)`

// ErrBadToken is returned for a missing or unknown replication token.
var ErrBadToken = errors.New("node: not a valid replication token")

// CheckReplicationToken reports whether tok is a live replication token.
func (n *Node) CheckReplicationToken(ctx context.Context, tok string) error {
	if tok == "" {
		return ErrBadToken
	}
	id := TokenID(tok)
	var got string
	err := n.reader.QueryRowContext(ctx, `SELECT id FROM local_replication_tokens WHERE id = ? AND scope = 'replicate'
		AND revoked = '' AND (expires = '' OR expires > ?)`, id, time.Now().UTC().Format(journal.TimeFormat)).Scan(&got)
	if err != nil || subtle.ConstantTimeCompare([]byte(got), []byte(id)) != 1 {
		return ErrBadToken
	}
	return nil
}

// RawEvent is an event's canonical bytes and its index in the journal.
type RawEvent struct {
	Index uint64 `json:"index"`
	Data  []byte `json:"data"`
}

// EventsFrom returns synced events with index ≥ from and < to (at most limit).
func (n *Node) EventsFrom(ctx context.Context, from, to uint64, limit int) ([]RawEvent, error) {
	to = min(to, n.Status().Events, from+uint64(limit))
	if from >= to {
		return []RawEvent{}, nil
	}
	rows, err := n.reader.QueryContext(ctx, `SELECT idx, data FROM journal_events WHERE idx >= ? AND idx < ? ORDER BY idx`, from, to)
	if err != nil {
		return nil, fmt.Errorf("node: events from %d: %w", from, err)
	}
	defer rows.Close()
	out := make([]RawEvent, 0, to-from)
	for rows.Next() {
		var e RawEvent
		if err := rows.Scan(&e.Index, &e.Data); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// CheckpointAt returns a signed checkpoint over exactly the first size
// events, which must be synced: the stored one if there is one, else a new
// signature over the root recomputed from the stored tree. Such on-demand
// checkpoints are not stored; the periodic ones are.
func (n *Node) CheckpointAt(ctx context.Context, size uint64) ([]byte, error) {
	if size == 0 || size > n.Status().Events {
		return nil, fmt.Errorf("node: no synced journal of %d events", size)
	}
	var msg []byte
	err := n.reader.QueryRowContext(ctx, `SELECT note FROM journal_checkpoints WHERE size = ?`, size).Scan(&msg)
	if err == nil {
		return msg, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	root, err := journal.RootAt(ctx, n.reader, size)
	if err != nil {
		return nil, err
	}
	return journal.SignCheckpoint(n.signer, n.info.Origin, size, root)
}

// VaultStatus is what a vault last confirmed it holds.
type VaultStatus struct {
	Name       string    `json:"name"`
	Size       uint64    `json:"events"`
	Checkpoint string    `json:"checkpoint"`
	Time       time.Time `json:"time"`
}

// Unbacked returns how many of the node's events vault v has not yet
// confirmed, and when the oldest of them was written (zero if none): what a
// loss of the node now would cost, however quiet the node has been.
func (n *Node) Unbacked(ctx context.Context, v VaultStatus) (uint64, time.Time, error) {
	size := n.Status().Events
	if v.Size >= size {
		return 0, time.Time{}, nil
	}
	var data []byte
	if err := n.reader.QueryRowContext(ctx, `SELECT data FROM journal_events WHERE idx = ?`, v.Size).Scan(&data); err != nil {
		return 0, time.Time{}, err
	}
	e, err := journal.Decode(data)
	if err != nil {
		return 0, time.Time{}, err
	}
	return size - v.Size, e.Time, nil
}

// Vaults lists what each registered vault last confirmed.
func (n *Node) Vaults(ctx context.Context) ([]VaultStatus, error) {
	rows, err := n.reader.QueryContext(ctx, `SELECT l.name, l.size, l.checkpoint, l.time FROM local_vaults l
		JOIN vaults v ON v.name = l.name AND v.key != '' ORDER BY l.name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var vs []VaultStatus
	for rows.Next() {
		var v VaultStatus
		var cp []byte
		var t string
		if err := rows.Scan(&v.Name, &v.Size, &cp, &t); err != nil {
			return nil, err
		}
		v.Checkpoint = string(cp)
		v.Time, _ = time.Parse(time.RFC3339Nano, t)
		vs = append(vs, v)
	}
	return vs, rows.Err()
}
