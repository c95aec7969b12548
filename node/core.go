package node

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"kavach/internal/durable"
	"kavach/journal"
)

// coreService holds the node's own projections: its identity and the
// counters from which identifiers are allocated.
func coreService() Service {
	return Service{
		Migrations: []Migration{{Name: "node/001", SQL: journal.Schema + `
CREATE TABLE node_info (
	id            INTEGER PRIMARY KEY CHECK (id = 1),
	hospital_code TEXT NOT NULL,
	hospital_name TEXT NOT NULL,
	node_code     TEXT NOT NULL,
	origin        TEXT NOT NULL,
	verifier      TEXT NOT NULL
);
CREATE TABLE node_keys (
	verifier TEXT PRIMARY KEY,
	from_idx INTEGER NOT NULL,
	reason   TEXT NOT NULL
);
-- Identifier counters, raised by projectors to the highest number used, so a
-- replay or a restored node carries on without reusing one.
CREATE TABLE counters (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;
`}, {Name: "node/002", SQL: replicationSchema},
			{Name: "node/003", SQL: journal.TilesSchema, Go: func(ctx context.Context, tx *sql.Tx) error {
				return journal.BackfillTiles(ctx, tx)
			}},
			{Name: "node/004", SQL: restoresSchema, Go: backfillRestores}},
		Projectors: map[string]Projector{
			"node.initialised": applyInitialised,
			"node.key_added":   applyKeyAdded,
			"node.restored":    applyRestored,
		},
	}
}

type initialised struct {
	HospitalCode string `json:"hospital_code"`
	HospitalName string `json:"hospital_name"`
	NodeCode     string `json:"node_code"`
	Origin       string `json:"origin"`
}

type keyAdded struct {
	Reason   string `json:"reason"`
	Verifier string `json:"verifier"`
}

func applyInitialised(tx *Tx, e *journal.Event) error {
	var p initialised
	if err := journal.Unmarshal(e, &p); err != nil {
		return err
	}
	_, err := tx.Exec(`INSERT INTO node_info (id, hospital_code, hospital_name, node_code, origin, verifier) VALUES (1, ?, ?, ?, ?, '')`,
		p.HospitalCode, p.HospitalName, p.NodeCode, p.Origin)
	return err
}

func applyKeyAdded(tx *Tx, e *journal.Event) error {
	var p keyAdded
	if err := journal.Unmarshal(e, &p); err != nil {
		return err
	}
	if _, err := tx.Exec(`INSERT INTO node_keys (verifier, from_idx, reason) VALUES (?, ?, ?)`, p.Verifier, e.Index, p.Reason); err != nil {
		return err
	}
	_, err := tx.Exec(`UPDATE node_info SET verifier = ? WHERE id = 1`, p.Verifier)
	return err
}

var (
	nodeCodeRE     = regexp.MustCompile(`^[A-HJ-NP-Z]{2}$`)
	hospitalCodeRE = regexp.MustCompile(`^[A-Z][A-Z0-9]{1,9}$`)
)

func (n *Node) initialise(ctx context.Context, ic InitConfig) error {
	if ic.HospitalCode == "" {
		ic.HospitalCode = "KVH"
	}
	if ic.HospitalName == "" {
		ic.HospitalName = "Kavach Hospital"
	}
	if ic.NodeCode == "" {
		ic.NodeCode = "KA"
	}
	ic.NodeCode = strings.ToUpper(ic.NodeCode)
	ic.HospitalCode = strings.ToUpper(ic.HospitalCode)
	if !nodeCodeRE.MatchString(ic.NodeCode) {
		return fmt.Errorf("node: node code %q must be two letters other than I and O", ic.NodeCode)
	}
	if !hospitalCodeRE.MatchString(ic.HospitalCode) {
		return fmt.Errorf("node: hospital code %q must be 2 to 10 letters or digits, starting with a letter", ic.HospitalCode)
	}
	origin := "kavach/" + ic.HospitalCode + "/" + ic.NodeCode
	skey, vkey, err := journal.GenerateKey(origin)
	if err != nil {
		return err
	}
	if n.signer, err = note.NewSigner(skey); err != nil {
		return err
	}
	if err := durable.WriteFile(KeyPath(n.dir), []byte(skey+"\n"), 0o600); err != nil {
		return fmt.Errorf("node: write signing key: %w", err)
	}
	if err := durable.WriteFile(PubPath(n.dir), []byte(vkey+"\n"), 0o644); err != nil {
		return fmt.Errorf("node: write verifier: %w", err)
	}
	n.info = Info{HospitalCode: ic.HospitalCode, HospitalName: ic.HospitalName, NodeCode: ic.NodeCode, Origin: origin, Verifier: vkey}
	n.app = journal.NewAppender(ic.NodeCode)
	r := &request{ctx: ctx, actor: "system", done: make(chan error, 1), cmd: func(tx *Tx) error {
		if _, err := tx.Emit("node.initialised", initialised{ic.HospitalCode, ic.HospitalName, ic.NodeCode, origin}); err != nil {
			return err
		}
		_, err := tx.Emit("node.key_added", keyAdded{Verifier: vkey, Reason: "first start"})
		return err
	}}
	n.signedCPTime = time.Now().Add(-n.every) // sign the first checkpoint at once
	n.commit([]*request{r})
	if err := <-r.done; err != nil {
		return fmt.Errorf("node: initialise: %w", err)
	}
	info, err := readInfo(ctx, n.wdb)
	if err != nil {
		return fmt.Errorf("node: initialise: %w", err)
	}
	n.info = info
	return nil
}

// Counter returns the current value of an identifier counter: the last number
// used, 0 if none. On a node that was restored, a counter not used since
// starts past every restore's skip: the attacked node may have used it in
// the vault's lag window (see restoreSkip).
func (tx *Tx) Counter(name string) (int64, error) {
	return tx.counter(name, `SELECT coalesce(sum(skip), 0) FROM node_restores`)
}

// DailyCounter is Counter for a counter that starts again every day, such as
// a department's tokens, named for its day, which begins at dayStart. One
// not used since starts past the token skip of the restores made that day:
// a restore on an earlier day cannot have lost any of that day's numbers.
func (tx *Tx) DailyCounter(name string, dayStart time.Time) (int64, error) {
	return tx.counter(name, `SELECT coalesce(sum(token_skip), 0) FROM node_restores WHERE time >= ?`,
		dayStart.UTC().Format(journal.TimeFormat))
}

// counter reads a counter, or when it has no row, the floor that query gives.
func (tx *Tx) counter(name, floor string, args ...any) (int64, error) {
	if err := tx.writeRaised(); err != nil {
		return 0, err
	}
	v, err := tx.Cached("counter:"+name, func() (any, error) {
		var v int64
		err := tx.QueryRow(`SELECT value FROM counters WHERE name = ?`, name).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			err = tx.QueryRow(floor, args...).Scan(&v)
		}
		if err != nil {
			return nil, fmt.Errorf("node: counter %s: %w", name, err)
		}
		return v, nil
	})
	if err != nil {
		return 0, err
	}
	return v.(int64), nil
}

// RaiseCounter sets a counter to v if v is higher. Projectors call it with the
// number an event used.
func (tx *Tx) RaiseCounter(name string, v int64) error {
	if tx.raised != nil {
		if old, ok := tx.raised[name]; !ok || v > old {
			tx.raised[name] = v
		}
		return nil
	}
	return tx.raiseCounter(name, v)
}

func (tx *Tx) raiseCounter(name string, v int64) error {
	if _, err := tx.Exec(`INSERT INTO counters (name, value) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)`, name, v); err != nil {
		return err
	}
	if c, ok := tx.n.cache["counter:"+name]; ok && c.(int64) < v {
		tx.n.cache["counter:"+name] = v
	}
	return nil
}

// writeRaised writes a bulk load's pending counter raises. A raise is a
// maximum, so writing the highest once leaves what writing each would.
func (tx *Tx) writeRaised() error {
	if len(tx.raised) == 0 {
		return nil // the live writer's case: it writes each raise at once
	}
	names := make([]string, 0, len(tx.raised))
	for name := range tx.raised {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := tx.raiseCounter(name, tx.raised[name]); err != nil {
			return err
		}
		delete(tx.raised, name)
	}
	return nil
}

// Cached returns the writer's memo of key, loading it on first use. The memo
// holds what commands read often and rarely changes (counters, departments,
// tariffs); it is dropped whenever a transaction rolls back, another process
// appends, or a projector calls ForgetCached.
func (tx *Tx) Cached(key string, load func() (any, error)) (any, error) {
	if tx.n.cache == nil {
		tx.n.cache = map[string]any{}
	}
	if v, ok := tx.n.cache[key]; ok {
		return v, nil
	}
	v, err := load()
	if err != nil {
		return nil, err
	}
	tx.n.cache[key] = v
	return v, nil
}

// ForgetCached drops the writer's memo; projectors of rare configuration
// events (a department added, a tariff set) call it.
func (tx *Tx) ForgetCached() { tx.n.cache = nil }
