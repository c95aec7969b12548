// Package billing holds the hospital's tariffs: what each service costs for
// each patient category. Fees are in paise. Receipts, refunds and day-end come
// with the billing counter.
package billing

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"kavach"
	"kavach/journal"
	"kavach/node"
)

// Service is billing's part of a node.
func Service() node.Service {
	return node.Service{
		Migrations: []node.Migration{{Name: "billing/001", SQL: `
CREATE TABLE tariffs (
	item     TEXT NOT NULL,
	category TEXT NOT NULL,
	paise    INTEGER NOT NULL,
	PRIMARY KEY (item, category)
) WITHOUT ROWID;
`}},
		Projectors: map[string]node.Projector{"tariff.set": applyTariff},
	}
}

// Tariff is the price of an item for a patient category ("*" for any).
type Tariff struct {
	Category string `json:"category"` // "general", "bpl", … or "*"
	Item     string `json:"item"`     // "opd.new", "opd.revisit", "lab.CBC"
	Paise    int64  `json:"paise"`
}

func applyTariff(tx *node.Tx, e *journal.Event) error {
	var t Tariff
	if err := journal.Unmarshal(e, &t); err != nil {
		return err
	}
	_, err := tx.Exec(`INSERT INTO tariffs (item, category, paise) VALUES (?, ?, ?)
		ON CONFLICT (item, category) DO UPDATE SET paise = excluded.paise`, t.Item, t.Category, t.Paise)
	tx.ForgetCached()
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
	if err := f.Err(); err != nil {
		return err
	}
	_, err := tx.Emit("tariff.set", t)
	return err
}

// FeeFor returns the price of item for a category: the category's own
// tariff, else the "*" tariff, else 0.
func FeeFor(tx *node.Tx, item, category string) (int64, error) {
	v, err := tx.Cached("billing.fee:"+item+"/"+category, func() (any, error) {
		var p int64
		err := tx.QueryRow(`SELECT paise FROM tariffs WHERE item = ? AND category IN (?, '*') ORDER BY category = '*' LIMIT 1`, item, category).Scan(&p)
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

// Rupees formats paise as "Rs 10.00".
func Rupees(paise int64) string { return fmt.Sprintf("Rs %d.%02d", paise/100, paise%100) }
