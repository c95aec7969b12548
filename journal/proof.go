package journal

import (
	"context"
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// NodeHash returns the hash of a complete node of the tree. Nodes at stored
// levels are read; the others are recomputed from the nearest stored level
// below (at most 8 hashes) or from the leaves.
func NodeHash(ctx context.Context, db DBTX, id compact.NodeID) ([]byte, error) {
	if storedLevel(id.Level) {
		var h []byte
		err := db.QueryRowContext(ctx, `SELECT hash FROM journal_nodes WHERE level = ? AND idx = ?`, id.Level, id.Index).Scan(&h)
		if err != nil {
			return nil, fmt.Errorf("journal: node %d/%d: %w", id.Level, id.Index, ErrNotFound)
		}
		return h, nil
	}
	base := id.Level - id.Level%4
	k := id.Level - base
	begin, end := id.Index<<k, (id.Index+1)<<k
	var rows interface {
		Next() bool
		Scan(...any) error
		Close() error
		Err() error
	}
	var err error
	if base == 0 {
		rows, err = db.QueryContext(ctx, `SELECT leaf FROM journal_events WHERE idx >= ? AND idx < ? ORDER BY idx`, begin, end)
	} else {
		rows, err = db.QueryContext(ctx, `SELECT hash FROM journal_nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx`, base, begin, end)
	}
	if err != nil {
		return nil, fmt.Errorf("journal: node %d/%d: %w", id.Level, id.Index, err)
	}
	defer rows.Close()
	var hs [][]byte
	for rows.Next() {
		var h []byte
		if err := rows.Scan(&h); err != nil {
			return nil, err
		}
		hs = append(hs, h)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if uint64(len(hs)) != end-begin {
		return nil, fmt.Errorf("journal: node %d/%d is not complete: %w", id.Level, id.Index, ErrNotFound)
	}
	for len(hs) > 1 {
		next := hs[:0:0]
		for i := 0; i < len(hs); i += 2 {
			next = append(next, hashChildren(hs[i], hs[i+1]))
		}
		hs = next
	}
	return hs[0], nil
}

func fetch(ctx context.Context, db DBTX, nodes proof.Nodes) ([][]byte, error) {
	hs := make([][]byte, 0, len(nodes.IDs))
	for _, id := range nodes.IDs {
		h, err := NodeHash(ctx, db, id)
		if err != nil {
			return nil, err
		}
		hs = append(hs, h)
	}
	return nodes.Rehash(hs, hashChildren)
}

// InclusionProof proves that the event at index is in the tree of the given
// size. The caller makes sure size is no larger than the committed journal.
func InclusionProof(ctx context.Context, db DBTX, index, size uint64) ([][]byte, error) {
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, fmt.Errorf("journal: inclusion proof: %w", err)
	}
	return fetch(ctx, db, nodes)
}

// ConsistencyProof proves that the tree of size2 extends the tree of size1.
func ConsistencyProof(ctx context.Context, db DBTX, size1, size2 uint64) ([][]byte, error) {
	nodes, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, fmt.Errorf("journal: consistency proof: %w", err)
	}
	return fetch(ctx, db, nodes)
}

// RootAt returns the root of the tree of the given size from stored nodes.
func RootAt(ctx context.Context, db DBTX, size uint64) ([]byte, error) {
	if size == 0 {
		return rfc6962Empty(), nil
	}
	ids := compact.RangeNodes(0, size, nil)
	hs := make([][]byte, 0, len(ids))
	for _, id := range ids {
		h, err := NodeHash(ctx, db, id)
		if err != nil {
			return nil, err
		}
		hs = append(hs, h)
	}
	r, err := rf.NewRange(0, size, hs)
	if err != nil {
		return nil, err
	}
	return r.GetRootHash(nil)
}

// VerifyInclusion checks an inclusion proof for an event's bytes.
func VerifyInclusion(data []byte, index, size uint64, p [][]byte, root []byte) error {
	return proof.VerifyInclusion(rfc6962.DefaultHasher, index, size, LeafHash(data), p, root)
}

// VerifyConsistency checks that the tree (size2, root2) extends (size1, root1).
func VerifyConsistency(size1, size2 uint64, p [][]byte, root1, root2 []byte) error {
	if size1 > size2 {
		return errors.New("journal: consistency: the second tree is smaller")
	}
	return proof.VerifyConsistency(rfc6962.DefaultHasher, size1, size2, p, root1, root2)
}

// HashChildren is the RFC 6962 interior node hash.
func HashChildren(l, r []byte) []byte { return hashChildren(l, r) }

// EmptyRoot is the root of the empty tree.
func EmptyRoot() []byte { return rfc6962Empty() }

// Leaves reads the leaf hashes of events [begin, end) of a journal held
// without stored interior nodes (another node's, as a replica).
type Leaves func(ctx context.Context, begin, end uint64) ([][]byte, error)

// fetchLeaves is fetch for a journal held as leaves only: each node's hash
// is recomputed from the leaves below it, so a proof reads about as many
// leaves as the tree has.
func fetchLeaves(ctx context.Context, leaves Leaves, nodes proof.Nodes) ([][]byte, error) {
	hs := make([][]byte, 0, len(nodes.IDs))
	for _, id := range nodes.IDs {
		begin, end := id.Index<<id.Level, (id.Index+1)<<id.Level
		ls, err := leaves(ctx, begin, end)
		if err != nil {
			return nil, err
		}
		if uint64(len(ls)) != end-begin {
			return nil, fmt.Errorf("journal: node %d/%d is not complete: %w", id.Level, id.Index, ErrNotFound)
		}
		for len(ls) > 1 {
			next := ls[:0:0]
			for i := 0; i < len(ls); i += 2 {
				next = append(next, hashChildren(ls[i], ls[i+1]))
			}
			ls = next
		}
		hs = append(hs, ls[0])
	}
	return nodes.Rehash(hs, hashChildren)
}

// InclusionProofOver is InclusionProof for a journal held as leaves only.
func InclusionProofOver(ctx context.Context, leaves Leaves, index, size uint64) ([][]byte, error) {
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, fmt.Errorf("journal: inclusion proof: %w", err)
	}
	return fetchLeaves(ctx, leaves, nodes)
}

// ConsistencyProofOver is ConsistencyProof for a journal held as leaves only.
func ConsistencyProofOver(ctx context.Context, leaves Leaves, size1, size2 uint64) ([][]byte, error) {
	nodes, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, fmt.Errorf("journal: consistency proof: %w", err)
	}
	return fetchLeaves(ctx, leaves, nodes)
}
