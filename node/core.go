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

// coreService holds the node's own projections: the identity and keys of
// every origin whose events the node holds, their restores, and the counters
// from which identifiers are allocated.
func coreService() Service {
	return Service{
		Name: "node",
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
			{Name: "node/004", SQL: restoresSchema, Go: backfillRestores},
			{Name: "node/005", SQL: originsSchema},
			{Name: "node/006", SQL: vaultsSchema},
			{Name: "node/007", SQL: tokenNamesSchema},
			{Name: "node/008", SQL: sitesSchema + alertsSchema + replicasSchema}},
		Events: []Handler{
			On(NodeInitialised, applyInitialised),
			On(NodeKeyAdded, applyKeyAdded),
			On(NodeRestored, applyRestored),
			On(NodeRepaired, applyRepaired),
			On(VaultRegistered, applyVaultRegistered),
			On(VaultRemoved, applyVaultRemoved),
			On(SiteAdded, applySiteAdded),
			On(SiteEnrolled, applySiteEnrolled),
			On(UpstreamEnrolled, applyUpstreamEnrolled),
			On(NodeKeyApproved, applyKeyApproved),
			On(NodeAlert, applyAlert),
			On(NodeSynced, applySynced),
		},
	}
}

// originsSchema (migration node/005) keys the core projections by origin:
// a node holds other nodes' journals too (site nodes), and every projection
// is a function of the set of events from every origin. Counters are named
// for their origin ("KA/uhid"), rows for an event by its origin and sequence
// number instead of its place in this node's journal. In a journal of one
// origin an event's sequence number is its index plus one.
const originsSchema = `
CREATE TABLE nodes (
	code          TEXT PRIMARY KEY,
	hospital_code TEXT NOT NULL,
	hospital_name TEXT NOT NULL,
	origin        TEXT NOT NULL,
	verifier      TEXT NOT NULL
);
INSERT INTO nodes (code, hospital_code, hospital_name, origin, verifier)
	SELECT node_code, hospital_code, hospital_name, origin, verifier FROM node_info;
CREATE TABLE origin_keys (
	node     TEXT NOT NULL,
	seq      INTEGER NOT NULL,
	verifier TEXT NOT NULL,
	reason   TEXT NOT NULL,
	PRIMARY KEY (node, seq)
);
INSERT INTO origin_keys (node, seq, verifier, reason)
	SELECT (SELECT node_code FROM node_info), from_idx + 1, verifier, reason FROM node_keys;
CREATE TABLE origin_restores (
	node       TEXT NOT NULL,
	seq        INTEGER NOT NULL,
	time       TEXT NOT NULL,
	skip       INTEGER NOT NULL,
	token_skip INTEGER NOT NULL,
	PRIMARY KEY (node, seq)
);
INSERT INTO origin_restores (node, seq, time, skip, token_skip)
	SELECT (SELECT node_code FROM node_info), idx + 1, time, skip, token_skip FROM node_restores;
UPDATE counters SET name = (SELECT node_code FROM node_info) || '/' || name;
DROP TABLE node_info;
DROP TABLE node_keys;
DROP TABLE node_restores;
`

// The node's own event types.
const (
	NodeInitialised Event[Initialised] = "node.initialised"
	NodeKeyAdded    Event[KeyAdded]    = "node.key_added"
	NodeRestored    Event[Restored]    = "node.restored"
)

// Initialised is the payload of node.initialised, the first event of every
// node's journal. Frozen.
type Initialised struct {
	HospitalCode string `json:"hospital_code"`
	HospitalName string `json:"hospital_name"`
	NodeCode     string `json:"node_code"`
	Origin       string `json:"origin"`
}

// KeyAdded is the payload of node.key_added: the verifier of the key that
// signs the origin's checkpoints from this event on. Frozen.
type KeyAdded struct {
	Reason   string `json:"reason"`
	Verifier string `json:"verifier"`
}

func applyInitialised(p *Projection, e *journal.Event, v *Initialised) error {
	_, err := p.Exec(`INSERT INTO nodes (code, hospital_code, hospital_name, origin, verifier) VALUES (?, ?, ?, ?, '')`,
		v.NodeCode, v.HospitalCode, v.HospitalName, v.Origin)
	return err
}

// applyKeyAdded records the key. An origin's own events always come in its
// order, so the latest key is the last one applied.
func applyKeyAdded(p *Projection, e *journal.Event, v *KeyAdded) error {
	if _, err := p.Exec(`INSERT INTO origin_keys (node, seq, verifier, reason) VALUES (?, ?, ?, ?)`, e.Origin, e.Seq, v.Verifier, v.Reason); err != nil {
		return err
	}
	_, err := p.Exec(`UPDATE nodes SET verifier = ? WHERE code = ?`, v.Verifier, e.Origin)
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
	skey, vkey := ic.Key, ic.Verifier
	if skey == "" || vkey == "" {
		var err error
		if skey, vkey, err = journal.GenerateKey(origin); err != nil {
			return err
		}
	}
	var err error
	if n.signer, err = note.NewSigner(skey); err != nil {
		return fmt.Errorf("node: signing key: %w", err)
	}
	if n.signer.Name() != origin {
		return fmt.Errorf("node: the signing key is named %s, not %s", n.signer.Name(), origin)
	}
	if v, err := note.NewVerifier(vkey); err != nil || v.Name() != origin || v.KeyHash() != n.signer.KeyHash() {
		return fmt.Errorf("node: the verifier %q is not the signing key's", vkey)
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
		if _, err := Emit(tx, NodeInitialised, Initialised{ic.HospitalCode, ic.HospitalName, ic.NodeCode, origin}); err != nil {
			return err
		}
		_, err := Emit(tx, NodeKeyAdded, KeyAdded{Verifier: vkey, Reason: "first start"})
		return err
	}}
	n.signedCPTime = n.Now().Add(-n.every) // sign the first checkpoint at once
	n.commit([]*request{r})
	if err := <-r.done; err != nil {
		return fmt.Errorf("node: initialise: %w", err)
	}
	info, err := readInfo(ctx, n.wdb, ic.NodeCode)
	if err != nil {
		return fmt.Errorf("node: initialise: %w", err)
	}
	n.info = info
	return nil
}

// Counter returns the current value of one of this node's identifier
// counters: the last number used, 0 if none. On a node that was restored, a
// counter not used since starts past every restore's skip: the attacked
// node may have used it in the vault's lag window (see restoreSkip).
func (tx *Tx) Counter(name string) (int64, error) {
	own := tx.n.info.NodeCode
	return tx.counter(own+"/"+name, `SELECT coalesce(sum(skip), 0) FROM origin_restores WHERE node = ?`, own)
}

// DailyCounter is Counter for a counter that starts again every day, such as
// a department's tokens, named for its day, which begins at dayStart. One
// not used since starts past the token skip of the restores made that day:
// a restore on an earlier day cannot have lost any of that day's numbers.
func (tx *Tx) DailyCounter(name string, dayStart time.Time) (int64, error) {
	own := tx.n.info.NodeCode
	return tx.counter(own+"/"+name, `SELECT coalesce(sum(token_skip), 0) FROM origin_restores WHERE node = ? AND time >= ?`,
		own, dayStart.UTC().Format(journal.TimeFormat))
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

// raise sets a counter (its full name, origin first) to v if v is higher.
func (tx *Tx) raise(name string, v int64) error {
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
		ON CONFLICT (name) DO UPDATE SET value = CASE WHEN excluded.value > counters.value THEN excluded.value ELSE counters.value END`, name, v); err != nil {
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

// Core is the node's own service: its tables and events (node.initialised,
// node.key_added, node.restored), which every node has before any
// hospital service's.
func Core() Service { return coreService() }
