package billing

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"kavach"
	"kavach/journal"
	"kavach/node"
)

// Categories are the patient categories a price may be for ("*": any).
var Categories = []string{"*", "general", "bpl", "senior", "staff", "scheme"}

var tariffCodeRE = regexp.MustCompile(`^[a-z]{2,10}\.[A-Za-z0-9_]{1,20}$`)

// NewPrice is a price an administrator sets.
type NewPrice struct {
	Code      string `json:"code"`     // "opd.new", "lab.CBC", "ipd.bed_general"
	Name      string `json:"name"`     // "OPD registration and consultation"
	Category  string `json:"category"` // one of Categories; "" is "*"
	Paise     int64  `json:"price_paise"`
	Effective string `json:"effective"` // YYYY-MM-DD; "" is today
}

// SetPrice journals a service's price for a category from a date. A charge
// keeps the price in force when it was posted.
func SetPrice(tx *node.Tx, in NewPrice) error {
	f := kavach.Fields{}
	in.Code = strings.TrimSpace(in.Code)
	if !tariffCodeRE.MatchString(in.Code) {
		f.Add("code", "A tariff code is like opd.new or lab.CBC")
	}
	in.Name = strings.Join(strings.Fields(in.Name), " ")
	if in.Name == "" {
		f.Add("name", "Name the service")
	}
	f.Note("name", in.Name, 100)
	if in.Category == "" {
		in.Category = "*"
	}
	ok := false
	for _, c := range Categories {
		ok = ok || c == in.Category
	}
	if !ok {
		f.Add("category", "Category must be one of "+strings.Join(Categories, ", "))
	}
	if in.Paise < 0 || in.Paise > maxPaise {
		f.Add("price_paise", "A price is a whole number of paise from 0 to ₹1 crore")
	}
	if in.Effective == "" {
		in.Effective = kavach.Day(tx.Now)
	} else if iso, ok := kavach.ParseDate(in.Effective); ok {
		in.Effective = iso
	} else {
		f.Add("effective", "The date must be like 04-12-2026")
	}
	if err := f.Err(); err != nil {
		return err
	}
	_, err := node.Emit(tx, TariffPriced, Priced{Category: in.Category, Code: in.Code, Effective: in.Effective, Name: in.Name, Paise: in.Paise})
	return err
}

// TariffLine is a service with its prices.
type TariffLine struct {
	Code   string      `json:"code"`
	Name   string      `json:"name"`
	Paise  int64       `json:"price_paise"` // for any category ("*"), in force on the day asked
	Prices []PriceLine `json:"prices"`
}

// PriceLine is one price of a service.
type PriceLine struct {
	Category  string `json:"category"`
	Paise     int64  `json:"price_paise"`
	Effective string `json:"effective,omitempty"`
}

// Tariffs lists every service with its prices, and the price for any
// category in force on day.
func Tariffs(ctx context.Context, db journal.DBTX, day string) ([]TariffLine, error) {
	rows, err := db.QueryContext(ctx, `SELECT p.code, COALESCE(t.name, p.code), p.category, p.effective, p.paise FROM tariff_prices p
		LEFT JOIN tariff_items t ON t.code = p.code ORDER BY p.code, p.category, p.effective`)
	if err != nil {
		return nil, fmt.Errorf("billing: tariffs: %w", err)
	}
	defer rows.Close()
	out := []TariffLine{}
	for rows.Next() {
		var code, name, cat, eff string
		var paise int64
		if err := rows.Scan(&code, &name, &cat, &eff, &paise); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].Code != code {
			out = append(out, TariffLine{Code: code, Name: name, Prices: []PriceLine{}})
		}
		l := &out[len(out)-1]
		l.Prices = append(l.Prices, PriceLine{Category: cat, Paise: paise, Effective: eff})
		if cat == "*" && eff <= day {
			l.Paise = paise // rows come in effective order: the last one not after day wins
		}
	}
	return out, rows.Err()
}
