package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"kavach/hospital"
	"kavach/journal"
	"kavach/node"
	"kavach/registration"
)

// Search measures patient search latency at the stored scale: by part of a
// name, by mobile and by UHID, in turn.
func Search(ctx context.Context, h *hospital.Hospital, d time.Duration) (Result, error) {
	db := h.Node.DB()
	var maxUHID string
	if err := db.QueryRowContext(ctx, `SELECT max(uhid) FROM patients`).Scan(&maxUHID); err != nil {
		return Result{}, err
	}
	var mobiles []string
	rows, err := db.QueryContext(ctx, `SELECT mobile, uhid FROM patients ORDER BY uhid DESC LIMIT 1000`)
	if err != nil {
		return Result{}, err
	}
	var uhids []string
	for rows.Next() {
		var m, u string
		rows.Scan(&m, &u)
		mobiles = append(mobiles, m)
		uhids = append(uhids, u)
	}
	rows.Close()
	r := rand.New(rand.NewPCG(1, 2))
	var lats []time.Duration
	start := time.Now()
	for time.Since(start) < d {
		var q string
		switch len(lats) % 4 {
		case 0:
			q = firstM[r.IntN(len(firstM))][:3] + " " + last[r.IntN(len(last))][:3]
		case 1:
			q = firstF[r.IntN(len(firstF))]
		case 2:
			q = mobiles[r.IntN(len(mobiles))]
		case 3:
			q = uhids[r.IntN(len(uhids))]
		}
		t0 := time.Now()
		if _, err := registration.Search(ctx, db, q, 50); err != nil {
			return Result{}, err
		}
		lats = append(lats, time.Since(t0))
	}
	el := time.Since(start)
	slices.Sort(lats)
	return Result{Name: "search", Ops: int64(len(lats)), Seconds: el.Seconds(), PerSecond: float64(len(lats)) / el.Seconds(),
		Unit: "searches", P50Millis: percentile(lats, .5), P99Millis: percentile(lats, .99), MaxMillis: percentile(lats, 1)}, nil
}

// Verify runs verify on a benchmark node, tree only and in full.
func Verify(ctx context.Context, dir string) (Result, error) {
	tree, err := node.Verify(ctx, dir, hospital.Services(), node.VerifyOptions{SkipReplay: true})
	if err != nil {
		return Result{}, err
	}
	t0 := time.Now()
	full, err := node.Verify(ctx, dir, hospital.Services(), node.VerifyOptions{})
	if err != nil {
		return Result{}, err
	}
	fullSecs := time.Since(t0).Seconds()
	if !tree.OK || !full.OK {
		return Result{}, fmt.Errorf("bench: verify found faults: %v %v", tree.Faults, full.Faults)
	}
	ev := float64(full.Events)
	return Result{Name: "verify", Ops: int64(full.Events), Seconds: fullSecs, PerSecond: ev / fullSecs, Unit: "events (full check)",
		Extra: map[string]float64{
			"merkle_and_signatures_events_per_second": ev / tree.MerkleSeconds,
			"merkle_seconds": tree.MerkleSeconds,
			"full_seconds":   fullSecs,
			"replay_seconds": full.ReplaySeconds,
		}}, nil
}

// Journal compares synced journal appends with plain SQLite inserts of the
// same bytes in transactions of the same size, with the same settings.
func Journal(ctx context.Context, dir string, d time.Duration) (Result, error) {
	extra := map[string]float64{}
	var last Result
	for _, batch := range []int{1, 64} {
		j, err := runAppends(ctx, filepath.Join(dir, fmt.Sprintf("journal-%d.db", batch)), batch, d/4, true)
		if err != nil {
			return Result{}, err
		}
		p, err := runAppends(ctx, filepath.Join(dir, fmt.Sprintf("plain-%d.db", batch)), batch, d/4, false)
		if err != nil {
			return Result{}, err
		}
		extra[fmt.Sprintf("journal_events_per_second_batch_%d", batch)] = j
		extra[fmt.Sprintf("plain_inserts_per_second_batch_%d", batch)] = p
		extra[fmt.Sprintf("ratio_batch_%d", batch)] = j / p
		last = Result{Name: "journal", PerSecond: j, Unit: "events"}
	}
	last.Extra = extra
	return last, nil
}

func runAppends(ctx context.Context, path string, batch int, d time.Duration, useJournal bool) (float64, error) {
	os.Remove(path)
	db, err := node.OpenDB(path)
	if err != nil {
		return 0, err
	}
	defer func() { db.Close(); os.Remove(path); os.Remove(path + "-wal"); os.Remove(path + "-shm") }()
	if _, err := db.ExecContext(ctx, journal.Schema+journal.TilesSchema+`; CREATE TABLE plain (idx INTEGER PRIMARY KEY, data BLOB NOT NULL);`); err != nil {
		return 0, err
	}
	a := journal.NewAppender("KA")
	r := rand.New(rand.NewPCG(3, 4))
	payload, _ := json.Marshal(Patient(r))
	payload, _ = journal.Canonical(payload)
	var n int64
	start := time.Now()
	for time.Since(start) < d {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return 0, err
		}
		if useJournal {
			b, err := a.Begin(ctx, tx)
			if err != nil {
				return 0, err
			}
			for range batch {
				if _, err := b.Append(ctx, &journal.Event{Time: time.Now(), Actor: "bench", Type: "patient.registered", Payload: payload}); err != nil {
					return 0, err
				}
			}
			if err := b.Finish(ctx); err != nil {
				return 0, err
			}
			if err := tx.Commit(); err != nil {
				return 0, err
			}
			a.Committed(b)
		} else {
			for range batch {
				e := &journal.Event{Origin: "KA", Seq: uint64(n + 1), Time: time.Now(), Actor: "bench", Type: "patient.registered", Payload: payload}
				if _, err := tx.ExecContext(ctx, `INSERT INTO plain (idx, data) VALUES (?, ?)`, n, e.Encode()); err != nil {
					return 0, err
				}
				n++
			}
			if err := tx.Commit(); err != nil {
				return 0, err
			}
			continue
		}
		n += int64(batch)
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
