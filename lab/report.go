package lab

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"kavach"
	"kavach/journal"
	"kavach/node"
	"kavach/report"
)

// StoredReport is a released version of a sample's report.
type StoredReport struct {
	Accession  string `json:"accession"`
	Version    int    `json:"version"`
	Origin     string `json:"origin"` // the node that released it
	Index      uint64 `json:"index"`  // the release event's index in its journal
	Hash       string `json:"hash"`   // the release event's leaf hash, hex
	Released   string `json:"released_at"`
	ReleasedBy string `json:"released_by"`
	Reason     string `json:"reason,omitempty"`
	// Current is false once a newer version replaced it; Latest is the
	// newest version, and SupersededAt when it was released.
	Current      bool   `json:"current"`
	Latest       int    `json:"latest_version"`
	SupersededAt string `json:"superseded_at,omitempty"`
}

// Reports lists a sample's released versions, oldest first.
func Reports(ctx context.Context, db journal.DBTX, acc string) ([]StoredReport, error) {
	rows, err := db.QueryContext(ctx, `SELECT accession, version, origin, seq, leaf, released, released_by, reason FROM lab_reports
		WHERE accession = ? ORDER BY version, released, origin, seq`, acc)
	if err != nil {
		return nil, fmt.Errorf("lab: reports of %s: %w", acc, err)
	}
	defer rows.Close()
	var rs []StoredReport
	for rows.Next() {
		var r StoredReport
		var seq uint64
		if err := rows.Scan(&r.Accession, &r.Version, &r.Origin, &seq, &r.Hash, &r.Released, &r.ReleasedBy, &r.Reason); err != nil {
			return nil, err
		}
		r.Index = seq - 1
		rs = append(rs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// The newest is current; each older one was superseded by the next.
	for i := range rs {
		r := &rs[i]
		r.Latest = rs[len(rs)-1].Version
		r.Current = i == len(rs)-1
		if !r.Current {
			r.SupersededAt = rs[i+1].Released
		}
	}
	return rs, nil
}

// GetReport returns a version of a sample's report (0: the current one).
func GetReport(ctx context.Context, db journal.DBTX, acc string, version int) (*StoredReport, error) {
	rs, err := Reports(ctx, db, acc)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, &kavach.Error{Code: kavach.ENOTFOUND, Message: "Sample " + acc + " has no released report."}
	}
	if version == 0 {
		return &rs[len(rs)-1], nil
	}
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i].Version == version {
			return &rs[i], nil
		}
	}
	return nil, &kavach.Error{Code: kavach.ENOTFOUND, Message: fmt.Sprintf("Sample %s has no report version %d.", acc, version)}
}

// ReportByHash finds the released report whose release event has the
// given leaf hash at index of origin's journal.
func ReportByHash(ctx context.Context, db journal.DBTX, origin string, index uint64, hash string) (*StoredReport, error) {
	var acc string
	err := db.QueryRowContext(ctx, `SELECT accession FROM lab_reports WHERE leaf = ? AND origin = ? AND seq = ?`, strings.ToLower(hash), origin, index+1).Scan(&acc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &kavach.Error{Code: kavach.ENOTFOUND, Message: "No report released here matches this code."}
	}
	if err != nil {
		return nil, fmt.Errorf("lab: report %s: %w", hash, err)
	}
	rs, err := Reports(ctx, db, acc)
	if err != nil {
		return nil, err
	}
	for i := range rs {
		if rs[i].Hash == strings.ToLower(hash) {
			return &rs[i], nil
		}
	}
	return nil, &kavach.Error{Code: kavach.ENOTFOUND, Message: "No report released here matches this code."}
}

// VerifyPath is the public verification page's path for a report.
func VerifyPath(origin string, index uint64, hash string) string {
	return "/r/" + origin + "/" + strconv.FormatUint(index, 10) + "/" + hash
}

// ProvenReport is a report version with its release event's proof.
type ProvenReport struct {
	Stored   *StoredReport
	Released *Released
	Proof    *node.EventProof
}

// Prove loads a version of a sample's report with the proof of its release
// event against the newest checkpoint of its origin's journal.
func Prove(ctx context.Context, n *node.Node, acc string, version int) (*ProvenReport, error) {
	sr, err := GetReport(ctx, n.DB(), acc, version)
	if err != nil {
		return nil, err
	}
	p, err := n.ProveEvent(ctx, sr.Origin, sr.Index)
	if err != nil {
		return nil, err
	}
	rel, err := releaseOf(p)
	if err != nil {
		return nil, err
	}
	return &ProvenReport{Stored: sr, Released: rel, Proof: p}, nil
}

// releaseOf reads the release a proven lab.released event holds.
func releaseOf(p *node.EventProof) (*Released, error) {
	e, err := journal.Decode(p.Event)
	if err != nil {
		return nil, err
	}
	var rel Released
	if err := journal.Unmarshal(e, &rel); err != nil {
		return nil, err
	}
	return &rel, nil
}

// PDF renders the report with its QR code pointing at base (the node's
// address as the reader reaches it).
func (pr *ProvenReport) PDF(base string) ([]byte, error) {
	rp, err := reportProof(pr.Proof, base)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := report.LabReportPDF(&buf, PrintedReport(pr.Released), rp); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// reportProof is what the PDF embeds: the QR code's address (which names
// the event's origin, index and hash, and the checkpoint's size and root)
// and the proof.
func reportProof(p *node.EventProof, base string) (report.ReportProof, error) {
	cp, err := openCheckpoint(p.Checkpoint, p.Key)
	if err != nil {
		return report.ReportProof{}, err
	}
	hash := hex.EncodeToString(journal.LeafHash(p.Event))
	u := strings.TrimRight(base, "/") + VerifyPath(p.Origin, p.Index, hash) +
		"?cp=" + strconv.FormatUint(cp.Size, 10) + "-" + hex.EncodeToString(cp.Hash)
	return report.ReportProof{URL: u, Origin: p.Origin, Index: p.Index, Event: p.Event, Checkpoint: p.Checkpoint, Proof: p.Proof, Key: p.Key}, nil
}

// PrintedReport is what the PDF shows of a release.
func PrintedReport(rel *Released) report.LabReport {
	c := rel.Report
	lr := report.LabReport{Hospital: c.Hospital, UHID: c.UHID, Name: c.Name, NameHi: c.NameHi, AgeSex: c.AgeSex, Accession: rel.Accession,
		Specimen: c.Specimen, Container: c.Container, OrderedBy: c.OrderedBy, Priority: c.Priority,
		Collected: hospitalTime(c.Collected), Received: hospitalTime(c.Received), Released: hospitalTime(c.Released),
		VerifiedBy: c.VerifiedBy, Version: rel.Version, Amendment: rel.Reason}
	for _, t := range c.Tests {
		rt := report.LabReportTest{Code: t.Code, Name: t.Name}
		for _, r := range t.Results {
			rt.Results = append(rt.Results, report.LabReportResult{Code: r.Code, Name: r.Name, Value: r.Value, Unit: r.Unit, Range: r.Range, Flag: r.Flag})
		}
		lr.Tests = append(lr.Tests, rt)
	}
	return lr
}

func hospitalTime(s string) time.Time {
	t, err := time.Parse(journal.TimeFormat, s)
	if err != nil {
		return time.Time{}
	}
	return t.In(kavach.Zone)
}

// BaseOf is the node's address in a report's QR code.
func BaseOf(qr string) (string, error) {
	u, err := url.Parse(qr)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", fmt.Errorf("the report's address %q is not a URL", qr)
	}
	return u.Scheme + "://" + u.Host, nil
}
