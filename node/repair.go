package node

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"kavach"
	"kavach/journal"
)

// Builds before this one let text that was not UTF-8 through a page's form
// into a command: the journal's JSON holds U+FFFD for each such byte, but
// the projector, given the command's own value, stored the bytes. Verify
// reports the row as changed for ever, and no amendment can touch a history
// row. A repair clears such a fault with an event: node.repaired names each
// cell that holds the bytes, and its projector sets the cell to what the
// journal says, if it still holds those bytes. A replay finds the journal's
// text there already, so it changes nothing.

// NodeRepaired is the event of a repair.
const NodeRepaired Event[Repaired] = "node.repaired"

// Repaired is the payload of node.repaired. Frozen.
type Repaired struct {
	Cells  []RepairedCell `json:"cells"`
	Reason string         `json:"reason"`
}

// RepairedCell is one projection cell a repair set. Its key and its old
// value are in hex: they may hold bytes that are not UTF-8, which JSON
// cannot carry.
type RepairedCell struct {
	Column string            `json:"column"`
	KeyHex map[string]string `json:"key_hex"` // primary key column → its value's bytes
	Table  string            `json:"table"`
	WasHex string            `json:"was_hex"` // the cell's bytes before
}

// String names the cell for a person, its key as verify names a row's:
// patients.address (uhid="KA0000127X"), was "A\xffB".
func (c RepairedCell) String() string {
	var key []string
	for _, k := range slices.Sorted(maps.Keys(c.KeyHex)) {
		v, _ := hex.DecodeString(c.KeyHex[k])
		key = append(key, k+"="+quoteValue(string(v), 0))
	}
	was, _ := hex.DecodeString(c.WasHex)
	return fmt.Sprintf("%s.%s (%s), was %s", c.Table, c.Column, strings.Join(key, ", "), quoteValue(string(was), 60))
}

// journalText is what the journal holds for text whose bytes were s: JSON
// replaces each byte that is not UTF-8 with U+FFFD.
func journalText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func applyRepaired(p *Projection, e *journal.Event, r *Repaired) error {
	for _, c := range r.Cells {
		cols, pk, err := tableShape(p.Context(), p, c.Table)
		if err != nil {
			return err
		}
		if !slices.Contains(cols, c.Column) || len(pk) == 0 || len(pk) != len(c.KeyHex) {
			return fmt.Errorf("node: repair: %s.%s is not a cell of a table with a key", c.Table, c.Column)
		}
		was, err := hex.DecodeString(c.WasHex)
		if err != nil {
			return fmt.Errorf("node: repair: %w", err)
		}
		where := []string{quoteIdent(c.Column) + " = ?"}
		args := []any{journalText(string(was)), string(was)}
		for _, k := range pk {
			v, ok := c.KeyHex[k]
			if !ok {
				return fmt.Errorf("node: repair: %s's key has no %s", c.Table, k)
			}
			b, err := hex.DecodeString(v)
			if err != nil {
				return fmt.Errorf("node: repair: %w", err)
			}
			where = append(where, quoteIdent(k)+" = ?")
			args = append(args, string(b))
		}
		if _, err := p.Exec(`UPDATE `+quoteIdent(c.Table)+` SET `+quoteIdent(c.Column)+` = ? WHERE `+strings.Join(where, " AND "), args...); err != nil {
			return err
		}
	}
	return nil
}

// tableShape returns a projection table's columns and its primary key's.
func tableShape(ctx context.Context, db journal.DBTX, table string) (cols, pk []string, err error) {
	rows, err := db.QueryContext(ctx, `SELECT name, pk FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	type col struct {
		name string
		pk   int
	}
	var keyed []col
	for rows.Next() {
		var c col
		if err := rows.Scan(&c.name, &c.pk); err != nil {
			return nil, nil, err
		}
		cols = append(cols, c.name)
		if c.pk > 0 {
			keyed = append(keyed, c)
		}
	}
	slices.SortFunc(keyed, func(a, b col) int { return a.pk - b.pk })
	for _, c := range keyed {
		pk = append(pk, c.name)
	}
	if len(cols) == 0 || strings.HasPrefix(table, "journal_") || strings.HasPrefix(table, "local_") {
		return nil, nil, fmt.Errorf("node: repair: %s is not a projection table", table)
	}
	return cols, pk, rows.Err()
}

// TextRepairs compares the projections of the node in dir with a replay of
// its journal, as verify does, and returns the cells a repair would set:
// those whose bytes are not UTF-8 and whose journal text is exactly those
// bytes with U+FFFD for each bad one. Every other difference is returned as
// a fault: a repair does not touch it, and verify goes on reporting it.
func TextRepairs(ctx context.Context, dir string, services []Service) (cells []RepairedCell, faults []string, err error) {
	path := DBPath(dir)
	if _, err := os.Stat(path); err != nil {
		return nil, nil, fmt.Errorf("no Kavach node in %s", dir)
	}
	db, err := sql.Open("sqlite", dsn(path, modeVerify))
	if err != nil {
		return nil, nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	if err := checkMigrated(ctx, conn, dir, services); err != nil {
		return nil, nil, err
	}
	tmp, err := os.MkdirTemp(scratchDir(""), "kavach-repair-*")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(tmp)
	scratch := filepath.Join(tmp, "replay.db")
	if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS replay`, scratch); err != nil {
		return nil, nil, err
	}
	defer conn.ExecContext(context.Background(), `DETACH DATABASE replay`)
	if _, err := conn.ExecContext(ctx, `BEGIN`); err != nil {
		return nil, nil, err
	}
	defer conn.ExecContext(context.Background(), `ROLLBACK`)
	if err := Replay(ctx, conn, scratch, services, 0, func(idx uint64, err error) {
		faults = append(faults, fmt.Sprintf("event %d: %v", idx, err))
	}); err != nil {
		return nil, nil, err
	}
	tables, err := projectionTables(ctx, conn, "main")
	if err != nil {
		return nil, nil, err
	}
	for _, t := range tables {
		c, f, err := tableRepairs(ctx, conn, t)
		if err != nil {
			return nil, nil, fmt.Errorf("repair: %s: %w", t, err)
		}
		cells, faults = append(cells, c...), append(faults, f...)
	}
	return cells, faults, nil
}

// maxRepairRows bounds the rows of one table a repair looks at.
const maxRepairRows = 100000

// tableRepairs finds the repairable cells of one table, and what else differs.
func tableRepairs(ctx context.Context, db journal.DBTX, t string) (cells []RepairedCell, faults []string, err error) {
	cols, pk, err := tableShape(ctx, db, t)
	if err != nil {
		return nil, nil, err
	}
	q := fmt.Sprintf(`SELECT * FROM main.%s EXCEPT SELECT * FROM replay.%s LIMIT %d`, quoteIdent(t), quoteIdent(t), maxRepairRows)
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	var live [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			rows.Close()
			return nil, nil, err
		}
		live = append(live, vals)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	for _, lv := range live {
		if len(pk) == 0 {
			faults = append(faults, fmt.Sprintf("table %s: row %s differs from the journal's replay, and the table has no key to repair it by", t, describeRow(cols, lv)))
			continue
		}
		var where []string
		var args []any
		key := map[string]string{}
		for _, k := range pk {
			i := slices.Index(cols, k)
			where = append(where, quoteIdent(k)+" = ?")
			args = append(args, lv[i])
			key[k] = hex.EncodeToString(asBytes(lv[i]))
		}
		_, rv, err := firstRow(ctx, db, fmt.Sprintf(`SELECT * FROM replay.%s WHERE %s`, quoteIdent(t), strings.Join(where, " AND ")), args...)
		if err != nil {
			return nil, nil, err
		}
		if rv == nil {
			faults = append(faults, fmt.Sprintf("table %s: row %s is not in the journal's replay", t, describeRow(cols, lv)))
			continue
		}
		for i, c := range cols {
			l, r := asBytes(lv[i]), asBytes(rv[i])
			if string(l) == string(r) {
				continue
			}
			if !utf8.Valid(l) && journalText(string(l)) == string(r) {
				cells = append(cells, RepairedCell{Table: t, KeyHex: key, Column: c, WasHex: hex.EncodeToString(l)})
				continue
			}
			faults = append(faults, fmt.Sprintf("table %s: row %s: %s", t, describeKey(cols, lv, pkIndexes(cols, pk)), describeDiff(cols[i:i+1], lv[i:i+1], rv[i:i+1])))
		}
	}
	return cells, faults, nil
}

func pkIndexes(cols, pk []string) []int {
	var out []int
	for _, k := range pk {
		out = append(out, slices.Index(cols, k))
	}
	return out
}

// asBytes is a column's value as bytes, for comparing and hex.
func asBytes(v any) []byte {
	switch x := v.(type) {
	case nil:
		return nil
	case []byte:
		return x
	case string:
		return []byte(x)
	default:
		return []byte(fmt.Sprint(x))
	}
}

// Repair journals a node.repaired event setting cells, with why; the
// command that calls it found them with TextRepairs.
func (n *Node) Repair(ctx context.Context, actor, reason string, cells []RepairedCell) error {
	f := kavach.Fields{}
	reason = strings.Join(strings.Fields(reason), " ")
	if reason == "" {
		f.Add("reason", "Reason is required")
	}
	f.Text("reason", reason)
	if err := f.Err(); err != nil {
		return err
	}
	return n.Do(ctx, actor, func(tx *Tx) error {
		_, err := Emit(tx, NodeRepaired, Repaired{Cells: cells, Reason: reason})
		return err
	})
}
