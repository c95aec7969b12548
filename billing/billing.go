// Package billing is the cash counter: tariffs (what each service costs for
// each patient category, from a date), the charges other services' events
// post, payments with their receipts, cancelled charges, refunds (a large
// one approved by a second user), and each counter's day end. Money is
// integer paise everywhere.
//
// Billing is a leaf: other services' commands call it inside their own
// transaction (opd.Open asks FeeFor), and it calls none of theirs.
package billing

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strings"

	"kavach"
	"kavach/journal"
	"kavach/node"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Data is billing's part of a node: its tables and events.
func Data() node.Service {
	return node.Service{
		Name: "billing",
		Migrations: node.Migrations("billing", migrationFS, "migrations", map[string]func(context.Context, *sql.Tx) error{
			"002": node.Reapply(TariffSet, func(ctx context.Context, tx *sql.Tx, e *journal.Event, t *Price) error {
				return setTariff(ctx, tx, t, node.Stamp(e))
			}),
		}),
		// A tariff holds its newest price (last writer wins by node.Stamp).
		Events: events(),
	}
}

// TariffSet is billing's event type: a price set. Its payload is a frozen
// contract (docs/architecture.md).
const TariffSet node.Event[Price] = "tariff.set"

// Price is the payload of tariff.set.
type Price struct {
	Category string `json:"category"`
	Item     string `json:"item"`
	Paise    int64  `json:"paise"`
}

// Tariff is the price of an item for a patient category ("*" for any).
type Tariff struct {
	Item     string // "opd.new", "opd.revisit", "lab.CBC"
	Category string // "general", "bpl", … or "*"
	Paise    int64
}

func applyTariff(p *node.Projection, e *journal.Event, t *Price) error {
	p.ForgetCached()
	stamp := node.Stamp(e)
	if err := setTariff(p.Context(), p, t, stamp); err != nil {
		return err
	}
	// A price of the first kind applies from the beginning.
	_, err := p.Exec(`INSERT INTO tariff_prices (code, category, effective, paise, stamp) VALUES (?, ?, '', ?, ?)
		ON CONFLICT (code, category, effective) DO UPDATE SET paise = excluded.paise, stamp = excluded.stamp
		WHERE excluded.stamp > tariff_prices.stamp`, t.Item, t.Category, t.Paise, stamp)
	return err
}

func setTariff(ctx context.Context, db journal.DBTX, t *Price, stamp string) error {
	_, err := db.ExecContext(ctx, `INSERT INTO tariffs (item, category, paise, stamp) VALUES (?, ?, ?, ?)
		ON CONFLICT (item, category) DO UPDATE SET paise = excluded.paise, stamp = excluded.stamp
		WHERE excluded.stamp > tariffs.stamp`, t.Item, t.Category, t.Paise, stamp)
	return err
}

// SetTariff journals a price.
func SetTariff(tx *node.Tx, t Tariff) error {
	f := kavach.Fields{}
	t.Item = strings.TrimSpace(t.Item)
	if t.Item == "" {
		f.Add("item", "Item is required")
	}
	if t.Category == "" {
		t.Category = "*"
	}
	if t.Paise < 0 {
		f.Add("paise", "Price cannot be negative")
	}
	f.Text("item", t.Item)
	f.Text("category", t.Category)
	if err := f.Err(); err != nil {
		return err
	}
	_, err := node.Emit(tx, TariffSet, Price{Category: t.Category, Item: t.Item, Paise: t.Paise})
	return err
}

// FeeFor returns the price of item for a category in force today: the
// category's own tariff, else the "*" tariff, else 0; of each, the one with
// the latest effective date not after today.
func FeeFor(tx *node.Tx, item, category string) (int64, error) {
	return FeeOn(tx, item, category, kavach.Day(tx.Now))
}

// FeeOn is FeeFor on a given day (YYYY-MM-DD): a visit entered later from
// a downtime sheet costs what it cost the day the patient was seen.
func FeeOn(tx *node.Tx, item, category, today string) (int64, error) {
	v, err := tx.Cached("billing.fee:"+item+"/"+category+"/"+today, func() (any, error) {
		var p int64
		err := tx.QueryRow(`SELECT paise FROM tariff_prices WHERE code = ? AND category IN (?, '*') AND effective <= ?
			ORDER BY CASE WHEN category = '*' THEN 1 ELSE 0 END, effective DESC LIMIT 1`, item, category, today).Scan(&p)
		if errors.Is(err, sql.ErrNoRows) {
			return int64(0), nil
		}
		if err != nil {
			return nil, fmt.Errorf("billing: fee %s/%s: %w", item, category, err)
		}
		return p, nil
	})
	if err != nil {
		return 0, err
	}
	return v.(int64), nil
}

// Rupees formats paise as money is read at the counter and printed:
// ₹1,50,000.50, grouped the Indian way (lakh, crore).
func Rupees(paise int64) string { return inr(paise) }
