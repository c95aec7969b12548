package node

import (
	"context"
	"time"

	"kavach/journal"
)

// Alerts are what a node refused and a person must look at: a forged
// enrolment, another node's journal that forks from what this node holds,
// events outside a node's namespace, a key nobody approved. Each is
// journaled (node.alert), so it is as tamper-evident and as backed up as
// the rest, and shown by GET /api/v1/status and counted in /metrics
// (kavach_alerts{kind}). The same alert (kind, subject and message) is
// journaled once.

// NodeAlert is the alert event type.
const NodeAlert Event[Alert] = "node.alert"

// Alert kinds.
const (
	AlertEnrolment = "enrolment"  // an enrolment refused
	AlertFork      = "fork"       // another node's journal does not extend what this node holds
	AlertNamespace = "namespace"  // events outside their origin's namespace
	AlertKey       = "key"        // a checkpoint under a key this node does not trust
	AlertRefused   = "refused"    // another node's events refused for another reason
	AlertSync      = "credential" // a sync request with another site's credential
)

// AlertKinds lists every kind, so that /metrics shows each from 0: a
// Prometheus rule on an increase does not see a series' first sample.
var AlertKinds = []string{AlertEnrolment, AlertSync, AlertNamespace, AlertFork, AlertKey, AlertRefused}

// Alert is the payload of node.alert. Frozen.
type Alert struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Subject string `json:"subject"` // the origin or client it is about
}

const alertsSchema = `
CREATE TABLE alerts (
	node    TEXT NOT NULL,
	seq     INTEGER NOT NULL,
	time    TEXT NOT NULL,
	kind    TEXT NOT NULL,
	subject TEXT NOT NULL,
	message TEXT NOT NULL,
	PRIMARY KEY (node, seq)
);
`

func applyAlert(p *Projection, e *journal.Event, a *Alert) error {
	_, err := p.Exec(`INSERT INTO alerts (node, seq, time, kind, subject, message) VALUES (?, ?, ?, ?, ?, ?)`,
		e.Origin, e.Seq, e.Time.Format(journal.TimeFormat), a.Kind, a.Subject, a.Message)
	return err
}

// raiseAlert journals an alert in tx unless this node journaled the same
// one before.
func (tx *Tx) raiseAlert(kind, subject, message string) error {
	var seen bool
	if err := tx.QueryRow(`SELECT EXISTS (SELECT 1 FROM alerts WHERE node = ? AND kind = ? AND subject = ? AND message = ?)`,
		tx.n.info.NodeCode, kind, subject, message).Scan(&seen); err != nil || seen {
		return err
	}
	tx.n.log.Warn("alert: "+message, "kind", kind, "subject", subject)
	_, err := Emit(tx, NodeAlert, Alert{Kind: kind, Message: message, Subject: subject})
	return err
}

// RaiseAlert journals an alert (once).
func (n *Node) RaiseAlert(ctx context.Context, kind, subject, message string) {
	err := n.Do(ctx, "system", func(tx *Tx) error { return tx.raiseAlert(kind, subject, message) })
	if err != nil {
		n.log.Error("could not journal an alert", "err", err, "alert", message)
	}
}

// AlertRow is an alert as the status page shows it.
type AlertRow struct {
	Node    string    `json:"node"`
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Subject string    `json:"subject"`
	Message string    `json:"message"`
}

// Alerts returns the newest alerts raised by node (every node's if "").
func Alerts(ctx context.Context, db journal.DBTX, node string, limit int) ([]AlertRow, error) {
	rows, err := db.QueryContext(ctx, `SELECT node, time, kind, subject, message FROM alerts WHERE ? = '' OR node = ?
		ORDER BY time DESC, node, seq DESC LIMIT ?`, node, node, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []AlertRow{}
	for rows.Next() {
		var a AlertRow
		var t string
		if err := rows.Scan(&a.Node, &t, &a.Kind, &a.Subject, &a.Message); err != nil {
			return nil, err
		}
		a.Time, _ = time.Parse(journal.TimeFormat, t)
		out = append(out, a)
	}
	return out, rows.Err()
}

// AlertCounts counts the alerts node raised, by kind.
func AlertCounts(ctx context.Context, db journal.DBTX, node string) (map[string]int, error) {
	rows, err := db.QueryContext(ctx, `SELECT kind, count(*) FROM alerts WHERE node = ? GROUP BY kind`, node)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, rows.Err()
}
