package lab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
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
				return analyserError(i, ord.Accession, nil, err)
			}
			in := Entry{Source: "analyser", Message: msg}
			var obx []string // the OBX each of in.Results came from
			for j, ob := range ord.Observations {
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
				setID := ob.SetID
				if setID == "" {
					setID = strconv.Itoa(j + 1)
				}
				obx = append(obx, "OBX "+setID+" ("+ob.Code+")")
			}
			if len(in.Results) == 0 {
				continue
			}
			if s.Received == "" && s.Rejected == "" && !s.Cancelled {
				if _, err := Receive(tx, s.Accession); err != nil {
					return analyserError(i, s.Accession, nil, err)
				}
			}
			if _, _, err := AddResults(tx, s.Accession, in); err != nil {
				return analyserError(i, s.Accession, obx, err)
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
// wrong with the message's i-th order: a result's field is named by the
// OBX it came from (obx[k] for results[k]), not by the API's field name.
// An internal error is returned as it is: Analysers logs it and answers
// without its detail.
func analyserError(i int, acc string, obx []string, err error) error {
	var ke *kavach.Error
	if !errors.As(err, &ke) {
		return err
	}
	var parts []string
	for _, f := range slices.Sorted(maps.Keys(ke.Fields)) {
		m := ke.Fields[f]
		switch {
		case m == ke.Message:
			continue // the message says it already
		case f == "reason":
			m = "the report is released: a change must be entered by hand, with a reason"
		default:
			var k int
			if _, err := fmt.Sscanf(f, "results[%d]", &k); err == nil && k >= 0 && k < len(obx) {
				m = obx[k] + ": " + m
			}
		}
		parts = append(parts, m)
	}
	msg := ke.Message
	if len(parts) > 0 {
		msg = strings.Join(parts, "; ")
	}
	return &kavach.Error{Code: ke.Code, Message: fmt.Sprintf("OBR %d, sample %s: %s", i+1, acc, msg)}
}

// Analysers is the handler of the analysers' port (kavach serve
// --hl7-addr): each ORU^R01 is stored by StoreORU and answered AA, or AE
// with what is wrong in plain words. A failure of the node itself is
// logged and answered without its detail.
func Analysers(n *node.Node, log *slog.Logger) hl7.Handler {
	return hl7.HandleORU(func(ctx context.Context, o *hl7.ORU, _ *hl7.Message) error {
		err := StoreORU(ctx, n, o)
		if err == nil {
			return nil
		}
		if kavach.ErrorCode(err) == kavach.EINTERNAL {
			log.Error("hl7: results not stored", "control_id", o.ControlID, "err", err)
		}
		return errors.New(kavach.ErrorMessage(err))
	})
}
