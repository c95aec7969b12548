package lab

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"

	"kavach/journal"
	"kavach/report"
)

// ReportCheck is what kavach verify-report found about a report PDF.
type ReportCheck struct {
	OK         bool   `json:"ok"`
	Accession  string `json:"accession,omitempty"`
	UHID       string `json:"uhid,omitempty"`
	Version    int    `json:"version,omitempty"`
	Origin     string `json:"origin,omitempty"`
	Index      uint64 `json:"index"`
	Hash       string `json:"hash,omitempty"`
	Checkpoint struct {
		Size uint64 `json:"size"`
		Root string `json:"root"`
	} `json:"checkpoint"`
	// Against is what the report was proven against: the node's current
	// journal at an address, or a saved checkpoint.
	Against string `json:"against,omitempty"`
	// Current is known when checked against the node: false once a newer
	// version replaced the report.
	Current       *bool    `json:"current,omitempty"`
	LatestVersion int      `json:"latest_version,omitempty"`
	SupersededAt  string   `json:"superseded_at,omitempty"`
	Faults        []string `json:"faults"`
	Notes         []string `json:"notes"`

	proof *report.ReportProof
	cp    *log.Checkpoint
}

func (c *ReportCheck) fault(format string, args ...any) {
	c.Faults = append(c.Faults, fmt.Sprintf(format, args...))
}

// URL is the verification address the report's QR code holds.
func (c *ReportCheck) URL() string {
	if c.proof == nil {
		return ""
	}
	return c.proof.URL
}

// PinKey requires the report's journal to be signed by key, the hospital's
// node key as its IT publishes it (node.pub): a forger can make a report
// with a key and a server of their own, but not with the hospital's key.
func (c *ReportCheck) PinKey(key string) {
	if c.proof != nil && c.proof.Key != key {
		c.fault("the report is signed by key %s, not the hospital's %s", c.proof.Key, key)
	}
}

func openCheckpoint(msg []byte, key string) (*log.Checkpoint, error) {
	v, err := note.NewVerifier(key)
	if err != nil {
		return nil, fmt.Errorf("the key %q is not a note verifier key: %w", key, err)
	}
	origin, _, _ := bytes.Cut(msg, []byte("\n"))
	return journal.OpenCheckpoint(msg, string(origin), v)
}

// CheckReportPDF checks a report PDF by itself: that it carries the proof
// of a lab.released event, that rendering that event again gives exactly
// this file (so no text of it was changed), and that the event is included
// in the checkpoint it carries, signed by the key it names. Anyone can make
// a key, so this alone proves nothing: AgainstCheckpoint or AgainstNode
// anchors it to the hospital's journal. It fails (an error) only when the
// file is not a Kavach report at all.
func CheckReportPDF(pdf []byte) (*ReportCheck, error) {
	p, err := report.ReadReportProof(pdf)
	if err != nil {
		return nil, err
	}
	c := &ReportCheck{proof: p, Origin: p.Origin, Index: p.Index, Faults: []string{}, Notes: []string{}}
	c.Hash = hex.EncodeToString(journal.LeafHash(p.Event))
	e, err := journal.Decode(p.Event)
	if err != nil {
		c.fault("the embedded event does not decode: %v", err)
		return c, nil
	}
	if e.Type != string(ReportReleased) {
		c.fault("the embedded event is a %s, not a released report", e.Type)
		return c, nil
	}
	if e.Origin != p.Origin || e.Seq != p.Index+1 {
		c.fault("the embedded event is %s #%d, not the one the report names (%s, index %d)", e.Origin, e.Seq, p.Origin, p.Index)
	}
	var rel Released
	if err := journal.Unmarshal(e, &rel); err != nil {
		c.fault("the embedded release does not decode: %v", err)
		return c, nil
	}
	c.Accession, c.UHID, c.Version = rel.Accession, rel.Report.UHID, rel.Version
	var again bytes.Buffer
	if err := report.LabReportPDF(&again, PrintedReport(&rel), *p); err != nil {
		c.fault("the report cannot be rendered again from its event: %v", err)
	} else if !bytes.Equal(again.Bytes(), pdf) {
		c.fault("the report's contents differ from what the journal holds: the file was changed after it was issued")
	}
	cp, err := openCheckpoint(p.Checkpoint, p.Key)
	if err != nil {
		c.fault("the report's checkpoint is not signed by the key it names: %v", err)
		return c, nil
	}
	c.cp = cp
	c.Checkpoint.Size, c.Checkpoint.Root = cp.Size, hex.EncodeToString(cp.Hash)
	if err := journal.VerifyInclusion(p.Event, p.Index, cp.Size, p.Proof, cp.Hash); err != nil {
		c.fault("the release event is not in the checkpoint's tree: %v", err)
	}
	return c, nil
}

// AgainstCheckpoint anchors the check to a signed checkpoint saved from the
// hospital's node (GET /api/v1/checkpoint), offline: the saved checkpoint
// must be signed by the key that signed the report's checkpoint, of the
// same journal, and if it is of the same size, have the same root.
func (c *ReportCheck) AgainstCheckpoint(saved []byte, name string) {
	c.Against = "saved checkpoint " + name
	if c.cp == nil {
		return
	}
	s, err := openCheckpoint(saved, c.proof.Key)
	if err != nil {
		c.fault("the saved checkpoint is not signed by the key that signed the report's: %v", err)
		return
	}
	if s.Origin != c.cp.Origin {
		c.fault("the saved checkpoint is of journal %q, the report's of %q", s.Origin, c.cp.Origin)
		return
	}
	switch {
	case s.Size == c.cp.Size && !bytes.Equal(s.Hash, c.cp.Hash):
		c.fault("the saved checkpoint and the report's are of the same size %d with different roots: a forked journal", s.Size)
	case s.Size != c.cp.Size:
		c.Notes = append(c.Notes, fmt.Sprintf("the saved checkpoint (size %d) and the report's (size %d) are signed by the same key; that one extends the other is checked online only", s.Size, c.cp.Size))
	}
}

// PublicProof is the answer of GET /api/v1/public/reports/…: whether the
// report is the hospital's and current, with the proofs that it is
// included in the node's newest checkpoint and that this checkpoint
// extends the one the report carries.
type PublicProof struct {
	Accession    string   `json:"accession"`
	Version      int      `json:"version"`
	Latest       int      `json:"latest_version"`
	Current      bool     `json:"current"`
	SupersededAt string   `json:"superseded_at,omitempty"`
	Reason       string   `json:"reason,omitempty"`
	Checkpoint   string   `json:"checkpoint"`
	Key          string   `json:"key"`
	Inclusion    [][]byte `json:"inclusion"`
	From         uint64   `json:"from"`
	Consistency  [][]byte `json:"consistency"`
}

// AgainstNode anchors the check to the node at base (the QR code's
// address unless told otherwise): the node's newest checkpoint, signed by
// the report's key, includes the event and extends the report's
// checkpoint; and the node says whether a newer version replaced it.
func (c *ReportCheck) AgainstNode(ctx context.Context, client *http.Client, base string) error {
	c.Against = "node " + base
	if c.cp == nil {
		return nil
	}
	u := base + "/api/v1/public/reports/" + c.Origin + "/" + strconv.FormatUint(c.Index, 10) + "/" + c.Hash + "?from=" + strconv.FormatUint(c.cp.Size, 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("asking %s: %w", base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("asking %s: %w", base, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		c.fault("the node at %s has released no such report", base)
		return nil
	default:
		return fmt.Errorf("asking %s: %s: %s", base, resp.Status, bytes.TrimSpace(body))
	}
	var pp PublicProof
	if err := json.Unmarshal(body, &pp); err != nil {
		return fmt.Errorf("asking %s: %w", base, err)
	}
	cur := pp.Current
	c.Current, c.LatestVersion, c.SupersededAt = &cur, pp.Latest, pp.SupersededAt
	if pp.Key != c.proof.Key {
		c.fault("the node at %s now signs with another key (%s) than the report's (%s)", base, pp.Key, c.proof.Key)
		return nil
	}
	now, err := openCheckpoint([]byte(pp.Checkpoint), c.proof.Key)
	if err != nil {
		c.fault("the node's checkpoint is not signed by the report's key: %v", err)
		return nil
	}
	if now.Origin != c.cp.Origin {
		c.fault("the node's checkpoint is of journal %q, the report's of %q", now.Origin, c.cp.Origin)
		return nil
	}
	if err := journal.VerifyInclusion(c.proof.Event, c.Index, now.Size, pp.Inclusion, now.Hash); err != nil {
		c.fault("the node's journal does not include the report's event: %v", err)
	}
	if pp.From != c.cp.Size {
		c.fault("the node proved consistency from size %d, not the report's %d", pp.From, c.cp.Size)
	} else if err := journal.VerifyConsistency(c.cp.Size, now.Size, pp.Consistency, c.cp.Hash, now.Hash); err != nil {
		c.fault("the node's journal does not extend the report's checkpoint: %v", err)
	}
	if !pp.Current {
		c.Notes = append(c.Notes, fmt.Sprintf("version %d was replaced by version %d at %s", c.Version, pp.Latest, pp.SupersededAt))
	}
	return nil
}

// Finish sets OK: no faults, and anchored to something.
func (c *ReportCheck) Finish() *ReportCheck {
	if c.Against == "" {
		c.fault("not checked against the hospital's journal")
	}
	c.OK = len(c.Faults) == 0
	return c
}
