package node

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"

	"golang.org/x/mod/sumdb/note"

	"kavach/journal"
)

// ReplicaInput is another node's journal in a restore, as a vault holds it.
type ReplicaInput struct {
	Origin      string // the node's code
	Events      func(each func(index uint64, data []byte) error) error
	Checkpoints map[uint64][]byte // its signed checkpoints, by size
}

// storeReplica writes another node's journal as the node held it, checked
// as node.Receive checks a run: each event canonical and its own, every
// checkpoint signed by the key the journal names at its size and matching
// the Merkle root. Events past the last checkpoint are not proven and are
// left out; the node sends them again.
func (r *restorer) storeReplica(ri ReplicaInput) error {
	if !nodeCodeRE.MatchString(ri.Origin) {
		return fmt.Errorf("restore: %q is not a node's code", ri.Origin)
	}
	log := "kavach/" + r.hospitalCode() + "/" + ri.Origin
	tx, err := r.begin2()
	if err != nil {
		return err
	}
	defer tx.sql.Rollback()
	rng := &journal.Range{}
	var leaves [][]byte
	var next uint64
	key, provenKey := "", ""
	var proven uint64
	var provenCP []byte
	var provenRng *journal.Range
	err = ri.Events(func(index uint64, data []byte) error {
		if index != next {
			return fmt.Errorf("restore: %s's event %d came as %d", ri.Origin, next, index)
		}
		e, err := journal.Decode(data)
		if err != nil {
			return fmt.Errorf("restore: %s's event %d: %w", ri.Origin, index, err)
		}
		if e.Origin != ri.Origin || e.Seq != index+1 {
			return fmt.Errorf("restore: %s's event %d says it is event %d of %s", ri.Origin, index, e.Seq, e.Origin)
		}
		if e.Type == string(NodeKeyAdded) {
			key = jsonString(e.Payload, "verifier")
		}
		leaf := journal.LeafHash(data)
		if _, err := tx.Exec(`INSERT INTO journal_replica_events (origin, idx, data, leaf) VALUES (?, ?, ?, ?)`, ri.Origin, index, data, leaf); err != nil {
			return err
		}
		leaves = append(leaves, leaf)
		next++
		msg, ok := ri.Checkpoints[next]
		if !ok {
			return nil
		}
		if rng, err = rng.Extend(leaves); err != nil {
			return err
		}
		leaves = leaves[:0]
		v, err := note.NewVerifier(key)
		if err != nil {
			return fmt.Errorf("restore: %s's journal names no valid key before its checkpoint at %d: %w", ri.Origin, next, err)
		}
		cp, err := journal.OpenCheckpoint(msg, log, v)
		if err != nil {
			return fmt.Errorf("restore: %s's checkpoint at %d: %w", ri.Origin, next, err)
		}
		if cp.Size != next || !bytes.Equal(cp.Hash, rng.Root()) {
			return fmt.Errorf("restore: %s's checkpoint at %d does not match its events", ri.Origin, next)
		}
		if _, err := tx.Exec(`INSERT INTO journal_replica_checkpoints (origin, size, note) VALUES (?, ?, ?)`, ri.Origin, next, msg); err != nil {
			return err
		}
		proven, provenCP, provenRng, provenKey = next, msg, rng, key
		return nil
	})
	if err != nil {
		return err
	}
	if proven == 0 {
		return nil // nothing proven: the node sends it all again
	}
	if _, err := tx.Exec(`DELETE FROM journal_replica_events WHERE origin = ? AND idx >= ?`, ri.Origin, proven); err != nil {
		return err
	}
	if _, err := tx.Exec(`INSERT INTO journal_replicas (origin, log, size, applied, hashes, verifier, checkpoint) VALUES (?, ?, ?, 0, ?, ?, ?)`,
		ri.Origin, log, proven, provenRng.Bytes(), provenKey, provenCP); err != nil {
		return err
	}
	if r.rep.Origins == nil {
		r.rep.Origins = map[string]uint64{}
	}
	r.rep.Origins[ri.Origin] = proven
	return tx.sql.Commit()
}

// hospitalCode is the restored node's hospital, from its first event.
func (r *restorer) hospitalCode() string {
	var hc string
	r.db.QueryRowContext(r.ctx, `SELECT hospital_code FROM nodes WHERE code = (SELECT code FROM nodes LIMIT 1)`).Scan(&hc)
	if hc == "" {
		// Not applied yet: read it from the journal's first event.
		var data []byte
		r.db.QueryRowContext(r.ctx, `SELECT data FROM journal_events WHERE idx = 0`).Scan(&data)
		hc = jsonString(mustPayload(data), "hospital_code")
	}
	return hc
}

func mustPayload(data []byte) []byte {
	e, err := journal.Decode(data)
	if err != nil {
		return nil
	}
	return e.Payload
}

// begin2 opens a transaction for writes outside the journal's batches.
func (r *restorer) begin2() (*Tx, error) {
	sqltx, err := r.db.BeginTx(r.ctx, nil)
	if err != nil {
		return nil, err
	}
	return &Tx{ctx: r.ctx, n: r.n, sql: sqltx, raised: map[string]int64{}}, nil
}

// applyCausal applies every restored event, the node's own and the other
// nodes', in one causal order (see mergeCausal). The node's own events are
// all applied; another node's that wait for events the vault does not hold
// are left waiting, as a live node would leave them.
func (r *restorer) applyCausal(path string) error {
	rdb, err := sql.Open("sqlite", dsn(path, modeReader))
	if err != nil {
		return err
	}
	defer rdb.Close()
	rdb.SetMaxOpenConns(1)
	conn, err := rdb.Conn(r.ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	self, err := OwnCode(r.ctx, conn)
	if err != nil {
		return err
	}
	held := map[string]uint64{}
	for o, n := range r.rep.Origins {
		held[o] = n
	}
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	own, err := ownStream(ctx, conn, self, r.rep.Events, r.n.types)
	if err != nil {
		return err
	}
	streams := []*stream{own}
	for _, o := range mergeOrder(self, held)[1:] {
		streams = append(streams, replicaStream(ctx, conn, o, held[o], r.n.types))
	}
	items := make(chan []replayItem, 8)
	var readErr error
	var stuck []string
	go func() {
		defer close(items)
		readErr = mergeCausal(streams, func(b []replayItem) bool {
			select {
			case items <- b:
				return true
			case <-ctx.Done():
				return false
			}
		}, func(o string) bool { return o == self }, func(o string, idx uint64, have map[string]uint64) {
			stuck = append(stuck, fmt.Sprintf("%s's event %d needs events of other nodes the vault does not hold (%v)", o, idx, have))
		})
	}()
	defer func() {
		cancel()
		for range items {
		}
	}()
	applied := map[string]uint64{}
	tx, err := r.begin2()
	if err != nil {
		return err
	}
	defer func() { tx.sql.Rollback() }()
	n := 0
	for b := range items {
		for _, it := range b {
			if it.err != nil {
				return fmt.Errorf("restore: %w", it.err)
			}
			tx.Now, tx.Actor = it.e.Time, it.e.Actor
			if err := tx.Apply(it.e); err != nil {
				return fmt.Errorf("restore: %s's event %d (%s): %w", it.e.Origin, it.idx, it.e.Type, err)
			}
			applied[it.e.Origin]++
			if n++; n%restoreBatch == 0 {
				if err := tx.writeRaised(); err != nil {
					return err
				}
				if err := tx.sql.Commit(); err != nil {
					return err
				}
				if tx, err = r.begin2(); err != nil {
					return err
				}
			}
		}
	}
	if readErr != nil {
		return fmt.Errorf("restore: %w", readErr)
	}
	// Not a failure: the node's own journal is whole; the other nodes send
	// what the vault lacked when they reconnect.
	r.rep.Notes = append(r.rep.Notes, stuck...)
	for o, h := range held {
		if _, err := tx.Exec(`UPDATE journal_replicas SET applied = ? WHERE origin = ?`, applied[o], o); err != nil {
			return err
		}
		if applied[o] < h {
			if r.rep.Waiting == nil {
				r.rep.Waiting = map[string]uint64{}
			}
			r.rep.Waiting[o] = h - applied[o]
		}
	}
	if err := tx.writeRaised(); err != nil {
		return err
	}
	return tx.sql.Commit()
}
