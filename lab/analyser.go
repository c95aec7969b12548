package lab

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"kavach"
	"kavach/hl7"
	"kavach/node"
)

// AnalyserActor is who the journal names for results an analyser sent.
const AnalyserActor = "analyser"

// StoreORU stores the results of an analyser's ORU^R01 message, all or
// nothing, in one synced command: each OBR's sample is found by its
// accession number, each OBX matched to one of the sample's analytes by its
// catalogue code or LOINC code (OBX-3's identifier or alternate
// identifier). Codes the catalogue does not know are ignored (an analyser
// sends more than a lab reports); a known analyte the sample was not
// ordered for, a value that is not a number, an unknown or rejected sample
// are errors, and then nothing is stored. A message stored before (the same
// sender and control id) is not stored again. A sample the lab had not yet
// scanned in is received by the analyser's message: it is on the analyser.
func StoreORU(ctx context.Context, n *node.Node, o *hl7.ORU) error {
	return n.Do(ctx, AnalyserActor, func(tx *node.Tx) error {
		msg := o.Sender + "|" + o.ControlID
		if o.ControlID != "" {
			var seen bool
			if err := tx.QueryRow(`SELECT EXISTS (SELECT 1 FROM lab_hl7_messages WHERE sender = ? AND control_id = ?)`, o.Sender, o.ControlID).Scan(&seen); err != nil {
				return err
			}
			if seen {
				return nil
			}
		} else {
			msg = ""
		}
		known, err := analyteCodes(tx)
		if err != nil {
			return err
		}
		for i, ord := range o.Orders {
			s, err := GetSample(tx.Context(), tx, ord.Accession)
			if err != nil {
				return analyserError(i, ord.Accession, err)
			}
			in := Entry{Source: "analyser", Message: msg}
			for _, ob := range ord.Observations {
				switch strings.ToUpper(ob.Status) {
				case "X", "D", "W":
					continue // cannot be obtained, deleted, wrong: not a result
				}
				code, ok := known[strings.ToUpper(ob.Code)]
				if !ok && ob.AltCode != "" {
					code, ok = known[strings.ToUpper(ob.AltCode)]
				}
				if !ok {
					continue
				}
				in.Results = append(in.Results, ResultIn{Analyte: code, Value: Value(ob.Value)})
			}
			if len(in.Results) == 0 {
				continue
			}
			if s.Received == "" && s.Rejected == "" && !s.Cancelled {
				if _, err := Receive(tx, s.Accession); err != nil {
					return analyserError(i, s.Accession, err)
				}
			}
			if _, _, err := AddResults(tx, s.Accession, in); err != nil {
				return analyserError(i, s.Accession, err)
			}
		}
		return nil
	})
}

// analyteCodes maps every catalogue code and LOINC code to its analyte.
func analyteCodes(tx *node.Tx) (map[string]string, error) {
	v, err := tx.Cached("lab.analyte_codes", func() (any, error) {
		as, err := Analytes(tx.Context(), tx)
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		for _, a := range as {
			m[a.Code] = a.Code
			if a.LOINC != "" {
				m[a.LOINC] = a.Code
			}
		}
		return m, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(map[string]string), nil
}

// analyserError says in plain words, for the analyser's screen, what is
// wrong with the message's i-th order.
func analyserError(i int, acc string, err error) error {
	msg := kavach.ErrorMessage(err)
	var fields []string
	if ke, ok := err.(*kavach.Error); ok {
		for f, m := range ke.Fields {
			fields = append(fields, f+": "+m)
		}
	}
	if len(fields) > 0 {
		slices.Sort(fields)
		msg += " (" + strings.Join(fields, "; ") + ")"
	}
	return &kavach.Error{Code: kavach.EINVALID, Message: fmt.Sprintf("OBR %d, sample %s: %s", i+1, acc, msg)}
}
