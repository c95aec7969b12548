package node

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"

	"kavach/journal"
)

// EventProof proves one event of an origin's journal (this node's own, or
// another node's held as a replica) against a signed checkpoint of that
// journal: what a printed document carries so that anyone can check it.
type EventProof struct {
	Origin     string   // the origin node's code
	Index      uint64   // the event's index in the origin's journal
	Event      []byte   // its canonical bytes
	Size       uint64   // the checkpoint's tree size
	Checkpoint []byte   // the signed checkpoint (C2SP note)
	Proof      [][]byte // the inclusion proof of the event in that tree
	Key        string   // the note verifier key that signed the checkpoint
}

// ProveEvent proves the event at index of origin's journal against the
// newest checkpoint this node holds of it. For its own journal it signs a
// checkpoint first if none covers the event yet.
func (n *Node) ProveEvent(ctx context.Context, origin string, index uint64) (*EventProof, error) {
	p := &EventProof{Origin: origin, Index: index}
	if origin == n.info.NodeCode {
		cp, err := journal.LatestCheckpointUpTo(ctx, n.reader, n.Status().Events)
		if err != nil && !errors.Is(err, journal.ErrNotFound) {
			return nil, err
		}
		key := n.Info().Verifier
		if cp == nil || cp.Size <= index || !signedBy(cp.Note, key) {
			if cp, err = n.Checkpoint(ctx); err != nil {
				return nil, err
			}
			key = n.Info().Verifier
		}
		if cp.Size <= index {
			return nil, fmt.Errorf("node: event %d of %s: %w", index, origin, journal.ErrNotFound)
		}
		if err := n.reader.QueryRowContext(ctx, `SELECT data FROM journal_events WHERE idx = ?`, index).Scan(&p.Event); err != nil {
			return nil, fmt.Errorf("node: event %d: %w", index, err)
		}
		if p.Proof, err = journal.InclusionProof(ctx, n.reader, index, cp.Size); err != nil {
			return nil, err
		}
		p.Size, p.Checkpoint, p.Key = cp.Size, cp.Note, key
		return p, nil
	}
	err := n.reader.QueryRowContext(ctx, `SELECT size, checkpoint, verifier FROM journal_replicas WHERE origin = ?`, origin).Scan(&p.Size, &p.Checkpoint, &p.Key)
	if errors.Is(err, sql.ErrNoRows) || err == nil && p.Size <= index {
		return nil, fmt.Errorf("node: event %d of %s is not held here: %w", index, origin, journal.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("node: journal of %s: %w", origin, err)
	}
	if err := n.reader.QueryRowContext(ctx, `SELECT data FROM journal_replica_events WHERE origin = ? AND idx = ?`, origin, index).Scan(&p.Event); err != nil {
		return nil, fmt.Errorf("node: event %d of %s: %w", index, origin, err)
	}
	if p.Proof, err = journal.InclusionProofOver(ctx, n.replicaLeaves(origin), index, p.Size); err != nil {
		return nil, err
	}
	return p, nil
}

// ProveConsistency proves that origin's journal of size to extends the
// one of size from (to no larger than the newest checkpoint held).
func (n *Node) ProveConsistency(ctx context.Context, origin string, from, to uint64) ([][]byte, error) {
	if origin == n.info.NodeCode {
		return journal.ConsistencyProof(ctx, n.reader, from, to)
	}
	return journal.ConsistencyProofOver(ctx, n.replicaLeaves(origin), from, to)
}

func (n *Node) replicaLeaves(origin string) journal.Leaves {
	return func(ctx context.Context, begin, end uint64) ([][]byte, error) {
		rows, err := n.reader.QueryContext(ctx, `SELECT leaf FROM journal_replica_events WHERE origin = ? AND idx >= ? AND idx < ? ORDER BY idx`, origin, begin, end)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var ls [][]byte
		for rows.Next() {
			var l []byte
			if err := rows.Scan(&l); err != nil {
				return nil, err
			}
			ls = append(ls, l)
		}
		return ls, rows.Err()
	}
}

func signedBy(msg []byte, key string) bool {
	v, err := note.NewVerifier(key)
	if err != nil {
		return false
	}
	_, err = note.Open(msg, note.VerifierList(v))
	return err == nil
}
