package registration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"kavach"
	"kavach/idcode"
	"kavach/journal"
	"kavach/node"
)

// Downtime kits. When even a site node's PC is down, the counter works on
// paper: pre-numbered sheets, each with a UHID of a block the node reserved
// (journaled) from its own namespace. Later the back-entry screen registers
// each sheet's patient with that UHID, recording who entered it and when
// the patient was actually seen. A kit's sheets are entered at the node
// that printed them: its UHIDs are that node's, and no other node can issue
// them.

// KitFirst is the first serial of the UHIDs kept for downtime kits; a
// node's counter issues UHIDs below it.
const KitFirst = 9000001

// maxKit is the most sheets one kit may have.
const maxKit = 500

// PatientKitReserved is the event of a block of UHIDs reserved for a kit.
const PatientKitReserved node.Event[KitReserved] = "patient.kit_reserved"

// KitReserved is the payload of patient.kit_reserved: the first and last
// UHID of the block. Frozen.
type KitReserved struct {
	First string `json:"first"`
	Last  string `json:"last"`
}

const kitCounter = "uhid-kit"

func applyKitReserved(p *node.Projection, e *journal.Event, k *KitReserved) error {
	_, first, err1 := idcode.Parse(k.First, 2)
	_, last, err2 := idcode.Parse(k.Last, 2)
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("registration: kit %s–%s: %w", k.First, k.Last, err)
	}
	if _, err := p.Exec(`INSERT INTO uhid_kits (origin, first, last, stamp, actor) VALUES (?, ?, ?, ?, ?)`,
		e.Origin, first, last, node.Stamp(e), e.Actor); err != nil {
		return err
	}
	return p.RaiseCounter(e.Origin, kitCounter, last)
}

// issuesKit checks that a kit's UHIDs are its node's and kept for kits.
func issuesKit(ns node.Namespace, e *journal.Event, k *KitReserved) error {
	for _, u := range []string{k.First, k.Last} {
		if prefix, serial, err := idcode.Parse(u, 2); err != nil || prefix != ns.Code || serial < KitFirst {
			return fmt.Errorf("kit UHID %s", u)
		}
	}
	return nil
}

// Kit is a block of UHIDs reserved for downtime sheets.
type Kit struct {
	First, Last string
	Sheets      int
	Reserved    time.Time
	By          string
}

// UHIDs lists the kit's UHIDs.
func (k Kit) UHIDs() []string {
	prefix, first, _ := idcode.Parse(k.First, 2)
	out := make([]string, k.Sheets)
	for i := range out {
		out[i] = idcode.Make(prefix, first+int64(i), 7)
	}
	return out
}

// ReserveKit reserves the next sheets UHIDs of the node's kit block.
func ReserveKit(tx *node.Tx, sheets int) (*Kit, error) {
	if sheets < 1 || sheets > maxKit {
		return nil, &kavach.Error{Code: kavach.EINVALID, Message: "Please correct the marked fields.", Fields: map[string]string{"sheets": fmt.Sprintf("Sheets must be 1 to %d", maxKit)}}
	}
	last, err := tx.Counter(kitCounter)
	if err != nil {
		return nil, err
	}
	first := max(last+1, KitFirst)
	code := tx.Node().Info().NodeCode
	k := &Kit{First: idcode.Make(code, first, 7), Last: idcode.Make(code, first+int64(sheets)-1, 7), Sheets: sheets, Reserved: tx.Now, By: tx.Actor}
	if first+int64(sheets)-1 > 9999999 {
		return nil, &kavach.Error{Code: kavach.ECONFLICT, Message: "This node has used all its downtime UHIDs."}
	}
	if _, err := node.Emit(tx, PatientKitReserved, KitReserved{First: k.First, Last: k.Last}); err != nil {
		return nil, err
	}
	return k, nil
}

// Kits lists the kits node reserved, newest first.
func Kits(ctx context.Context, db journal.DBTX, code string) ([]Kit, error) {
	rows, err := db.QueryContext(ctx, `SELECT first, last, stamp, actor FROM uhid_kits WHERE origin = ? ORDER BY first DESC`, code)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Kit
	for rows.Next() {
		var first, last int64
		var stamp string
		var k Kit
		if err := rows.Scan(&first, &last, &stamp, &k.By); err != nil {
			return nil, err
		}
		k.First, k.Last, k.Sheets = idcode.Make(code, first, 7), idcode.Make(code, last, 7), int(last-first+1)
		k.Reserved, _ = time.Parse(journal.TimeFormat, strings.Fields(stamp)[0])
		out = append(out, k)
	}
	return out, rows.Err()
}

// KitOf returns the kit of this node's that holds uhid.
func KitOf(ctx context.Context, db journal.DBTX, code, uhid string) (*Kit, error) {
	prefix, serial, err := idcode.Parse(uhid, 2)
	if err != nil || prefix != code || serial < KitFirst {
		return nil, &kavach.Error{Code: kavach.EINVALID, Message: "Please correct the marked fields.", Fields: map[string]string{"uhid": "Not a UHID of this node's downtime sheets (" + code + "9000001 and up)"}}
	}
	ks, err := Kits(ctx, db, code)
	if err != nil {
		return nil, err
	}
	for _, k := range ks {
		_, f, _ := idcode.Parse(k.First, 2)
		_, l, _ := idcode.Parse(k.Last, 2)
		if serial >= f && serial <= l {
			return &k, nil
		}
	}
	return nil, &kavach.Error{Code: kavach.EINVALID, Message: "Please correct the marked fields.", Fields: map[string]string{"uhid": "No downtime kit of this node has this UHID"}}
}

// RegisterFromSheet registers the patient of a downtime sheet with the
// sheet's UHID, which must be of a kit this node printed and not used yet.
func RegisterFromSheet(tx *node.Tx, p *Patient, uhid string) (*Registration, error) {
	uhid, err := ParseUHID(uhid)
	if err != nil {
		return nil, &kavach.Error{Code: kavach.EINVALID, Message: "Please correct the marked fields.", Fields: map[string]string{"uhid": kavach.ErrorMessage(err)}}
	}
	if _, err := KitOf(tx.Context(), tx, tx.Node().Info().NodeCode, uhid); err != nil {
		return nil, err
	}
	if _, err := Get(tx.Context(), tx, uhid); err == nil {
		return nil, &kavach.Error{Code: kavach.ECONFLICT, Message: "Sheet " + idcode.ShowUHID(uhid) + " was entered already.", Fields: map[string]string{"uhid": "Entered already: open the patient instead"}}
	}
	p.UHID = uhid
	p.Registered = tx.Now.Format(journal.TimeFormat)
	p.RegisteredBy = tx.Actor
	if _, err := node.Emit(tx, PatientRegistered, p.registered()); err != nil {
		return nil, err
	}
	return &Registration{Patient: p}, nil
}
