package journal

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

func rfc6962Empty() []byte { return rfc6962.DefaultHasher.EmptyRoot() }

// ErrNotFound is returned when a checkpoint, event or node does not exist.
var ErrNotFound = errors.New("journal: not found")

// GenerateKey makes a new Ed25519 signing key for checkpoints in the note
// format, named for the log's origin.
func GenerateKey(origin string) (skey, vkey string, err error) {
	return note.GenerateKey(rand.Reader, origin)
}

// SignCheckpoint signs a C2SP checkpoint for the tree of the given size and root.
func SignCheckpoint(s note.Signer, origin string, size uint64, root []byte) ([]byte, error) {
	body := log.Checkpoint{Origin: origin, Size: size, Hash: root}.Marshal()
	msg, err := note.Sign(&note.Note{Text: string(body)}, s)
	if err != nil {
		return nil, fmt.Errorf("journal: sign checkpoint: %w", err)
	}
	return msg, nil
}

// OpenCheckpoint verifies a signed checkpoint against the verifier and returns
// its contents.
func OpenCheckpoint(msg []byte, origin string, v note.Verifier) (*log.Checkpoint, error) {
	cp, _, _, err := log.ParseCheckpoint(msg, origin, v)
	if err != nil {
		return nil, fmt.Errorf("journal: checkpoint: %w", err)
	}
	return cp, nil
}

// AddCheckpoint signs the batch's current tree and stores the checkpoint with
// the batch, so that it is durable exactly when the events it covers are.
func (b *Batch) AddCheckpoint(ctx context.Context, s note.Signer, origin string, now time.Time) ([]byte, error) {
	root := b.state.Root()
	msg, err := SignCheckpoint(s, origin, b.state.Size, root)
	if err != nil {
		return nil, err
	}
	_, err = b.tx.ExecContext(ctx, `INSERT INTO journal_checkpoints (size, root, note, time) VALUES (?, ?, ?, ?)
		ON CONFLICT (size) DO NOTHING`, b.state.Size, root, msg, now.UTC().Format(TimeFormat))
	if err != nil {
		return nil, fmt.Errorf("journal: store checkpoint: %w", err)
	}
	return msg, nil
}

// Checkpoint is a stored signed checkpoint.
type Checkpoint struct {
	Size uint64
	Root []byte
	Note []byte
	Time time.Time
}

// LatestCheckpoint returns the newest stored checkpoint.
func LatestCheckpoint(ctx context.Context, db DBTX) (*Checkpoint, error) {
	return LatestCheckpointUpTo(ctx, db, 1<<63-1)
}

// LatestCheckpointUpTo returns the newest stored checkpoint of at most size
// events: a node publishes only checkpoints over events already synced.
func LatestCheckpointUpTo(ctx context.Context, db DBTX, size uint64) (*Checkpoint, error) {
	var c Checkpoint
	var t string
	err := db.QueryRowContext(ctx, `SELECT size, root, note, time FROM journal_checkpoints WHERE size <= ? ORDER BY size DESC LIMIT 1`, size).Scan(&c.Size, &c.Root, &c.Note, &t)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("journal: latest checkpoint: %w", err)
	}
	c.Time, _ = time.Parse(TimeFormat, t)
	return &c, nil
}
