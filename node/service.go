package node

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"kavach"
	"kavach/journal"
)

// Service is what a hospital service contributes to a node: its tables
// (numbered migrations, only ever appended) and its events with their
// projectors. The rest of a service (its commands, reads, permissions, demo
// data and web parts) lives in its own package beside these; the service
// package of Kavach puts them together.
type Service struct {
	Name       string // "registration"; the prefix of its migrations' names
	Migrations []Migration
	Events     []Handler
}

// Migration is one numbered schema step of a service; steps are only ever appended.
type Migration struct {
	Name string // "registration/001"
	SQL  string
	// Go, if set, runs after SQL in the same transaction: for data that SQL
	// alone cannot migrate (JournalEvents reads the events it needs).
	Go func(ctx context.Context, tx *sql.Tx) error
}

// migrationFile is a migration's file name: its number, then words.
var migrationFile = regexp.MustCompile(`^([0-9]{3})_[a-z0-9_]+\.sql$`)

// Migrations reads a service's migrations from the numbered .sql files in
// dir of fsys (001_patients.sql, 002_…), each named service/NNN, in order.
// steps adds a Go step to the migration of that number. A malformed set (a
// gap, a file that is not a migration) is a programming error and panics,
// so that the tests catch it.
func Migrations(service string, fsys fs.FS, dir string, steps map[string]func(context.Context, *sql.Tx) error) []Migration {
	fsys, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err)
	}
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		panic(err)
	}
	sort.Strings(names)
	var ms []Migration
	for i, name := range names {
		m := migrationFile.FindStringSubmatch(path.Base(name))
		if m == nil || m[1] != fmt.Sprintf("%03d", i+1) {
			panic(fmt.Sprintf("node: %s migration %s: want %03d_words.sql", service, name, i+1))
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			panic(err)
		}
		mig := Migration{Name: service + "/" + m[1], SQL: string(b)}
		if step, ok := steps[m[1]]; ok {
			mig.Go = step
			delete(steps, m[1])
		}
		ms = append(ms, mig)
	}
	for n := range steps {
		panic(fmt.Sprintf("node: %s: a Go step for migration %s, which has no file", service, n))
	}
	return ms
}

// Event names an event type and fixes the Go type of its payload. The name
// is what the journal holds; the payload type is the frozen contract of the
// payload's bytes. A payload type is never edited once events of it may
// exist: a change is a new event type (or a new version of the name), never a
// renamed, removed or retyped field (docs/architecture.md). Payload types are
// not table rows or the API's JSON, so neither can change the journal.
type Event[P any] string

// Handler binds an event type to one projector. A type has one owner, the
// service that declares it with On and emits it, and any number of
// followers (Follow): other services whose projections also depend on it,
// such as every service that keeps rows per patient on patient.merged.
type Handler struct {
	Type    string
	Payload reflect.Type // the payload's Go type
	Owner   bool
	decode  func([]byte) (any, error)
	apply   func(p *Projection, e *journal.Event, v any) error
	issues  func(ns Namespace, e *journal.Event, v any) error
}

// Issuing declares the identifiers that events of an owned type issue:
// check says what is wrong when an event from the node of namespace ns
// issues one outside it (another node's UHID, a token outside its block).
// A node refuses another node's events that fail it, since they could
// collide with identifiers other nodes issue.
func Issuing[P any](h Handler, check func(ns Namespace, e *journal.Event, payload *P) error) Handler {
	if h.Payload != reflect.TypeFor[P]() {
		panic(fmt.Sprintf("node: Issuing: %s's payload is %s", h.Type, h.Payload))
	}
	h.issues = func(ns Namespace, e *journal.Event, v any) error { return check(ns, e, v.(*P)) }
	return h
}

// On declares a service's own event type and its projector.
func On[P any](t Event[P], apply func(p *Projection, e *journal.Event, payload *P) error) Handler {
	h := handler(t, apply)
	h.Owner = true
	return h
}

// Follow declares a projector of another service's event type.
func Follow[P any](t Event[P], apply func(p *Projection, e *journal.Event, payload *P) error) Handler {
	return handler(t, apply)
}

func handler[P any](t Event[P], apply func(p *Projection, e *journal.Event, payload *P) error) Handler {
	return Handler{
		Type:    string(t),
		Payload: reflect.TypeFor[P](),
		decode:  decodePayload[P],
		apply: func(p *Projection, e *journal.Event, v any) error {
			return apply(p, e, v.(*P))
		},
	}
}

// decodePayload decodes a payload strictly: a field the type does not have
// means the payload is not of this type (or the type was edited, which the
// contract forbids).
func decodePayload[P any](b []byte) (any, error) {
	v := new(P)
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return nil, err
	}
	return v, nil
}

// eventType is everything the node runs for one event type.
type eventType struct {
	owner  string // the service that declares it
	decode func([]byte) (any, error)
	apply  []func(p *Projection, e *journal.Event, v any) error
	issues func(ns Namespace, e *journal.Event, v any) error
}

// gather returns the migrations, in order, and the event types of the
// node's own service and then services. The owner's projector runs first,
// then the followers' in the services' order.
func gather(services []Service) ([]Migration, map[string]*eventType, error) {
	var ms []Migration
	types := map[string]*eventType{}
	all := append([]Service{coreService()}, services...)
	for _, s := range all {
		ms = append(ms, s.Migrations...)
		for _, h := range s.Events {
			if !h.Owner {
				continue
			}
			if t, dup := types[h.Type]; dup {
				return nil, nil, fmt.Errorf("node: event type %s is declared by both %s and %s", h.Type, t.owner, s.Name)
			}
			types[h.Type] = &eventType{owner: s.Name, decode: h.decode, apply: []func(*Projection, *journal.Event, any) error{h.apply}, issues: h.issues}
		}
	}
	for _, s := range all {
		for _, h := range s.Events {
			if h.Owner {
				continue
			}
			t, ok := types[h.Type]
			if !ok {
				return nil, nil, fmt.Errorf("node: %s follows event type %s, which no service declares", s.Name, h.Type)
			}
			t.apply = append(t.apply, h.apply)
		}
	}
	return ms, types, nil
}

// decodeEvent decodes an event's bytes and its payload. A payload that does
// not decode is left for Apply to report, with the event named.
func decodeEvent(types map[string]*eventType, data []byte) (*journal.Event, error) {
	e, err := journal.Decode(data)
	if err != nil {
		return nil, err
	}
	if t := types[e.Type]; t != nil {
		if v, err := t.decode(e.Payload); err == nil {
			e.Value = v
		}
	}
	return e, nil
}

// Emit journals an event of type t and applies its projectors. They are
// given the payload as the journal's bytes decode, never the caller's
// value: whatever the bytes say (a string that was not valid UTF-8 is
// U+FFFD in them) is what the tables hold, so a replay always agrees.
func Emit[P any](tx *Tx, t Event[P], payload P) (*journal.Event, error) {
	return tx.emit(string(t), payload)
}

func (tx *Tx) emit(typ string, payload any) (*journal.Event, error) {
	if tx.batch == nil {
		return nil, fmt.Errorf("node: emit %s during a replay", typ)
	}
	if err := tx.markFrontier(); err != nil {
		return nil, err
	}
	return tx.append(typ, payload)
}

// append journals and projects one event.
func (tx *Tx) append(typ string, payload any) (*journal.Event, error) {
	et, ok := tx.n.types[typ]
	if !ok {
		return nil, fmt.Errorf("node: no service declares event type %q", typ)
	}
	raw, err := journal.MarshalPayload(payload)
	if err != nil {
		return nil, err
	}
	if err := storable(raw); err != nil {
		return nil, fmt.Errorf("node: %s: %w", typ, err)
	}
	v, err := et.decode(raw)
	if err != nil {
		return nil, fmt.Errorf("node: %s: its payload does not decode: %w", typ, err)
	}
	e := &journal.Event{Time: tx.Now, Actor: tx.Actor, Type: typ, Payload: raw, Value: v}
	if _, err := tx.batch.Append(tx.ctx, e); err != nil {
		return nil, err
	}
	if err := tx.project(et, e); err != nil {
		return nil, fmt.Errorf("node: project %s: %w", typ, err)
	}
	tx.Events = append(tx.Events, e)
	return e, nil
}

// storable refuses a payload with text no field may hold (kavach.TextProblem:
// bytes that were not UTF-8, now U+FFFD; control characters; invisible
// layout characters), whatever field it is in and whether or not its
// service's validation caught it: what is journaled is there for ever.
// Line breaks and tabs pass, for text of several lines. Most payloads are
// ASCII and Devanagari without escapes and pass the quick scan.
func storable(raw []byte) error {
	if quickStorable(raw) {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	var bad string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			if p := kavach.TextProblem(strings.Map(func(r rune) rune {
				if r == '\n' || r == '\r' || r == '\t' {
					return ' '
				}
				return r
			}, x)); p != "" && bad == "" {
				bad = fmt.Sprintf("%q: %s", x, p)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for k, e := range x {
				walk(k)
				walk(e)
			}
		}
	}
	walk(v)
	if bad != "" {
		return &kavach.Error{Code: kavach.EINVALID, Message: "A field holds text that cannot be stored: " + bad}
	}
	return nil
}

// quickStorable reports whether a payload has no escapes but those of a
// quote, a backslash, a slash, a line break or a tab, and no bytes beyond
// ASCII but Devanagari's (U+0900–U+097F): such text cannot hold what
// storable refuses. DEL (0x7f) is a control character that encoding/json
// does not escape, so it takes the slow path.
func quickStorable(b []byte) bool {
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '\\':
			if i+1 >= len(b) {
				return false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'n', 'r', 't':
				i++
			default:
				return false
			}
		case c == 0x7f:
			return false
		case c < 0x80:
		case c == 0xe0 && i+2 < len(b) && (b[i+1] == 0xa4 || b[i+1] == 0xa5) && b[i+2]&0xc0 == 0x80:
			i += 2
		default:
			return false
		}
	}
	return true
}

// Apply runs the projectors of an event that is already in a journal (a
// replay, a restore).
func (tx *Tx) Apply(e *journal.Event) error {
	et, ok := tx.n.types[e.Type]
	if !ok {
		return fmt.Errorf("node: no service declares event type %q", e.Type)
	}
	if e.Value == nil {
		v, err := et.decode(e.Payload)
		if err != nil {
			return fmt.Errorf("its payload is not a %s: %w", e.Type, err)
		}
		e.Value = v
	}
	return tx.project(et, e)
}

func (tx *Tx) project(et *eventType, e *journal.Event) error {
	p := &Projection{tx: tx}
	for _, apply := range et.apply {
		if err := apply(p, e, e.Value); err != nil {
			return err
		}
	}
	return nil
}

// Projection is what a projector may use: the projection tables and the
// identifier counters, in the transaction that appends the event. It has no
// clock, no caller and no way to emit: a projector depends only on the event
// and the tables, so a replay, a restore or another node holding the same
// events writes the same rows.
type Projection struct{ tx *Tx }

// Context is the transaction's context.
func (p *Projection) Context() context.Context { return p.tx.ctx }

// Exec runs a statement.
func (p *Projection) Exec(query string, args ...any) (sql.Result, error) {
	return p.tx.Exec(query, args...)
}

// Query runs a query.
func (p *Projection) Query(query string, args ...any) (*sql.Rows, error) {
	return p.tx.Query(query, args...)
}

// QueryRow runs a query for one row.
func (p *Projection) QueryRow(query string, args ...any) *sql.Row {
	return p.tx.QueryRow(query, args...)
}

// QueryContext lets a projector call its service's read functions.
func (p *Projection) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return p.tx.QueryContext(ctx, query, args...)
}

// QueryRowContext lets a projector call its service's read functions.
func (p *Projection) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return p.tx.QueryRowContext(ctx, query, args...)
}

// ExecContext is Exec with a context, for helpers shared with migrations.
func (p *Projection) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return p.tx.ExecContext(ctx, query, args...)
}

// RaiseCounter raises origin's identifier counter name to v if v is
// higher; projectors call it with the number an event used. Counters are
// kept per origin: another node's numbers are from its own namespace.
func (p *Projection) RaiseCounter(origin, name string, v int64) error {
	return p.tx.raise(origin+"/"+name, v)
}

// ForgetCached drops the writer's memo; projectors of rare configuration
// events (a department added, a tariff set) call it.
func (p *Projection) ForgetCached() { p.tx.n.cache = nil }

// Sited reports whether e's node was a site, or a central that had added
// a site, when it made e: only then can another node's events be
// concurrent with e, so projections that compare what several nodes did
// skip their work for the others. A site pulls everything its central has
// before its first own event, so nothing a central did before it added
// its first site is concurrent with any site's. The answer depends on e
// and the events of its own origin before it, so every node gives the same.
func (p *Projection) Sited(e *journal.Event) (bool, error) {
	v, err := p.tx.Cached("node.sited", func() (any, error) {
		from := map[string]uint64{} // origin → the events after this one are sited
		if err := eachRow(p, `SELECT node, 0 FROM upstreams UNION ALL SELECT node, seq FROM site_adders`, func(o string, seq uint64) {
			if old, ok := from[o]; !ok || seq < old {
				from[o] = seq
			}
		}); err != nil {
			return nil, err
		}
		return from, nil
	})
	if err != nil {
		return false, err
	}
	seq, ok := v.(map[string]uint64)[e.Origin]
	return ok && e.Seq > seq, nil
}

func eachRow(p *Projection, q string, f func(string, uint64)) error {
	rows, err := p.Query(q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		var n uint64
		if err := rows.Scan(&s, &n); err != nil {
			return err
		}
		f(s, n)
	}
	return rows.Err()
}

// Stamp orders events from every origin one way, for the projections whose
// rows later events change (last writer wins): the time, then the origin,
// then the sequence number. Two nodes holding the same events pick the same
// winner, whatever order the events came in.
func Stamp(e *journal.Event) string {
	return fmt.Sprintf("%s %s %020d", e.Time.UTC().Format(journal.TimeFormat), e.Origin, e.Seq)
}

// JournalEvents returns the events of this node's journal whose type is one
// of types, in order, for a migration's Go step that fills a new table as
// its projector would have.
func JournalEvents(ctx context.Context, tx *sql.Tx, types ...string) ([]*journal.Event, error) {
	var conds []string
	var args []any
	for _, t := range types {
		conds = append(conds, `instr(data, CAST(? AS BLOB)) > 0`)
		args = append(args, `"type":"`+t+`"`)
	}
	rows, err := tx.QueryContext(ctx, `SELECT idx, data FROM journal_events WHERE `+strings.Join(conds, " OR ")+` ORDER BY idx`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*journal.Event
	for rows.Next() {
		var idx uint64
		var data []byte
		if err := rows.Scan(&idx, &data); err != nil {
			return nil, err
		}
		e, err := journal.Decode(data)
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", idx, err)
		}
		e.Index = idx
		for _, t := range types {
			if e.Type == t {
				out = append(out, e)
				break
			}
		}
	}
	return out, rows.Err()
}

// Reapply is a migration's Go step for a projection whose projector
// changed: it runs set on every event of type t in this node's journal, in
// order, with its payload, so that the table holds what the projector now
// makes of them.
func Reapply[P any](t Event[P], set func(ctx context.Context, tx *sql.Tx, e *journal.Event, payload *P) error) func(context.Context, *sql.Tx) error {
	return func(ctx context.Context, tx *sql.Tx) error {
		es, err := JournalEvents(ctx, tx, string(t))
		if err != nil {
			return err
		}
		for _, e := range es {
			v, err := decodePayload[P](e.Payload)
			if err != nil {
				return fmt.Errorf("event %d: %w", e.Index, err)
			}
			if err := set(ctx, tx, e, v.(*P)); err != nil {
				return fmt.Errorf("event %d: %w", e.Index, err)
			}
		}
		return nil
	}
}

// Steps runs Go steps one after another, for a migration that needs several.
func Steps(steps ...func(context.Context, *sql.Tx) error) func(context.Context, *sql.Tx) error {
	return func(ctx context.Context, tx *sql.Tx) error {
		for _, s := range steps {
			if err := s(ctx, tx); err != nil {
				return err
			}
		}
		return nil
	}
}
