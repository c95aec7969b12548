package vault

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"kavach/internal/durable"
)

// States of a vault, as status.json and `kavach vault status` give them.
const (
	StateOK                = "ok"                 // holds everything the node has synced
	StateLagging           = "lagging"            // behind the node by more than LagLimit
	StateForkDetected      = "fork-detected"      // the node offered a history that does not extend the vault's
	StateSourceUnreachable = "source-unreachable" // cannot pull, or the vault process is not running
	StateDamaged           = "damaged"            // the store's files do not verify
)

// Kinds of alert. Each is logged once, when raised, at level ERROR with the
// message "vault alert".
const (
	AlertForkDetected      = "fork-detected"      // rollback, rewrite, origin change, a retired key: sticky
	AlertKeyChanged        = "key-changed"        // signed by a key nobody approved; until approve-key
	AlertDamaged           = "damaged"            // the store's files do not verify
	AlertSourceUnreachable = "source-unreachable" // no answer from the node for UnreachableGrace, or a refusal
	AlertInvalidAnswer     = "invalid-answer"     // the node's answer fails verification with the trusted key
	AlertStoreError        = "store-error"        // the vault could not write to its own disk
	AlertNotRunning        = "vault-not-running"  // added by Status.At, never stored
	// The S3 copy (see Puller.S3). They do not change the state: the vault
	// holds everything all the same, the second copy is what is missing.
	AlertS3Behind    = "s3-behind"    // the bucket has lacked events the vault holds for S3Grace
	AlertS3Differs   = "s3-differs"   // the bucket holds other bytes under a name the vault writes
	AlertS3Retention = "s3-retention" // the locks of the objects a restore needs could not be extended
)

const (
	// LagLimit is how far behind the node the vault may be and still be ok.
	LagLimit = 5 * time.Second
	// StaleAfter is how old status.json may be before the vault process is
	// taken for dead: a running vault rewrites it at least every 30 s.
	StaleAfter = 2 * time.Minute
	// UnreachableGrace is how long the node may be unreachable before an
	// alert is raised: a node restart is not an incident. The state says
	// source-unreachable at once.
	UnreachableGrace = time.Minute
	// S3Grace is how long the S3 copy may lack events the vault holds
	// before the alert s3-behind is raised.
	S3Grace = time.Minute
)

// Status is the vault's status.json and the answer of `kavach vault status`.
// The vault process rewrites it after every pull; Status.At derives the state
// and the lag from it at the time of reading.
type Status struct {
	State          string   `json:"state"`
	Events         uint64   `json:"events"`          // events the store holds
	LagSeconds     float64  `json:"lag_seconds"`     // 0 while caught up
	LastCheckpoint string   `json:"last_checkpoint"` // the node's signed checkpoint at Events
	Alerts         []string `json:"alerts"`          // "kind: message", one per active alert

	VaultRunning bool   `json:"vault_running"`
	Name         string `json:"name"`
	// CosignKey is the vault's public cosigning key: the node's
	// administrator registers it (kavach vaults add) so that the node
	// believes this vault's reports.
	CosignKey       string `json:"cosign_key"`
	Source          string `json:"source"`
	SourceEvents    uint64 `json:"source_events"` // the node's synced journal at its last answer
	SourceReachable bool   `json:"source_reachable"`
	CosignedEvents  uint64 `json:"cosigned_events"` // the last checkpoint the vault cosigned
	// ConfirmedEvents is the largest history the vault has confirmed to the
	// node, which accepted its cosignature (confirmed.json): a store that
	// holds less is damaged.
	ConfirmedEvents uint64    `json:"confirmed_events"`
	CaughtUp        bool      `json:"caught_up"` // at UpdatedAt the vault held all the node had
	CaughtUpAt      time.Time `json:"caught_up_at,omitzero"`
	LastContact     time.Time `json:"last_contact,omitzero"`
	LastError       string    `json:"last_error,omitempty"`
	AlertDetails    []Alert   `json:"alert_details"`
	Scrub           *Scrubbed `json:"scrub,omitempty"` // the running vault's last own scrub
	S3              *S3Status `json:"s3,omitempty"`    // the S3 copy, when the vault keeps one
	// Origins are the other nodes' journals the source holds, which the
	// vault pulls into stores of their own (a central's sites), by code.
	Origins   map[string]OriginStatus `json:"origins,omitempty"`
	PID       int                     `json:"pid,omitempty"`
	StartedAt time.Time               `json:"started_at,omitzero"`
	UpdatedAt time.Time               `json:"updated_at,omitzero"`
	Stopped   bool                    `json:"stopped"` // the process stopped (SIGTERM)
}

// Alert is one active alert.
type Alert struct {
	Kind  string `json:"kind"`
	Cause string `json:"cause,omitempty"` // fork-detected: rollback, diverged, origin-changed, retired-key, key-mismatch; damaged: open, scrub
	// Message says what happened and what to do, for the administrator.
	Message string    `json:"message"`
	Time    time.Time `json:"time,omitzero"`
	// Quarantine is the forks/ directory, relative to the vault directory,
	// holding what the vault refused.
	Quarantine string `json:"quarantine,omitempty"`
	// Key is, for key-changed, the key (name+hash) the refused checkpoint
	// is signed by.
	Key string `json:"key,omitempty"`
	// Origin is the node code of the other node's journal the alert is
	// about; empty for the source's own journal and the vault itself.
	Origin string `json:"origin,omitempty"`
}

// OriginStatus is the vault's copy of another node's journal that the
// source holds (a site's, when the source is the central).
type OriginStatus struct {
	// State is ok, lagging, fork-detected (a fork or an unapproved key of
	// this journal), damaged or source-unreachable.
	State          string  `json:"state"`
	Log            string  `json:"log,omitempty"` // its checkpoints' origin line
	Events         uint64  `json:"events"`        // events the vault holds
	SourceEvents   uint64  `json:"source_events"` // events the source held at its last answer
	LagSeconds     float64 `json:"lag_seconds"`
	LastCheckpoint string  `json:"last_checkpoint,omitempty"` // the origin's signed checkpoint at Events
	// Key is the key the vault trusts for it now.
	Key        string    `json:"key,omitempty"`
	CaughtUp   bool      `json:"caught_up"`
	CaughtUpAt time.Time `json:"caught_up_at,omitzero"`
	// S3EventsCopied is how many of its events, from the first, are in the
	// S3 copy, when the vault keeps one.
	S3EventsCopied uint64 `json:"s3_events_copied,omitempty"`
}

func (a Alert) String() string { return a.Kind + ": " + a.Message }

// Scrubbed is the result of a scrub the running vault made of its own store.
type Scrubbed struct {
	Time    time.Time `json:"time"`
	OK      bool      `json:"ok"`
	Events  uint64    `json:"events"`
	Faults  []string  `json:"faults,omitempty"`
	Seconds float64   `json:"seconds"`
}

// S3Status is the state of the vault's S3 copy: its settings (never the
// credentials) and how much of the store is in the bucket.
type S3Status struct {
	Endpoint         string `json:"endpoint"`
	Bucket           string `json:"bucket"`
	Region           string `json:"region,omitempty"`
	Retention        string `json:"retention"` // how long each object is locked after its upload, e.g. "90d"
	RetentionSeconds int64  `json:"retention_seconds"`
	// EventsCopied is how many of the store's events, from the first, are
	// in the bucket with their manifests (0 until the first check at the
	// start has finished).
	EventsCopied uint64 `json:"events_copied"`
	// Behind: the bucket lacks events the vault holds, and the last try to
	// copy them failed or they have waited for more than LagLimit.
	Behind      bool      `json:"behind"`
	BehindSince time.Time `json:"behind_since,omitzero"` // since when the bucket lacks them
	LastError   string    `json:"last_error,omitempty"`  // while copying fails
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	CopiedAt    time.Time `json:"copied_at,omitzero"` // the last time a copy or a check of the bucket succeeded
	// The locks. The vault extends, to Retention from now, the lock of
	// every object a restore needs when less than half of Retention is
	// left. RetentionExtendedAt is when it last went through all of them
	// without a failure; OldestRetainUntil is the earliest end of their
	// locks then: until that time nobody can delete any of them.
	RetentionExtendedAt time.Time `json:"retention_extended_at,omitzero"`
	OldestRetainUntil   time.Time `json:"oldest_retain_until,omitzero"`
	ObjectsLocked       int       `json:"objects_locked"`            // the objects a restore needs, locked in the bucket
	RetentionError      string    `json:"retention_error,omitempty"` // while extending fails
	Unlocked            int       `json:"unlocked"`                  // the store's files in no locked version in the bucket, at the last check
}

// At returns the status as of now: the state, the lag, whether the vault
// process is still running.
func (s Status) At(now time.Time) Status {
	out := s
	out.AlertDetails = slices.DeleteFunc(slices.Clone(s.AlertDetails), func(a Alert) bool { return a.Kind == AlertNotRunning })
	running := !s.Stopped && !s.UpdatedAt.IsZero() && now.Sub(s.UpdatedAt) <= StaleAfter
	out.VaultRunning = running
	if !running {
		msg := fmt.Sprintf("the vault process is not running: status.json was last written at %s", s.UpdatedAt.Format(time.RFC3339))
		switch {
		case s.UpdatedAt.IsZero():
			msg = "the vault has not run in this directory yet"
		case s.Stopped:
			msg = fmt.Sprintf("the vault process stopped at %s", s.UpdatedAt.Format(time.RFC3339))
		}
		out.AlertDetails = append(out.AlertDetails, Alert{Kind: AlertNotRunning, Message: msg + "; start it (kavach vault --data DIR …)", Time: s.UpdatedAt})
	}

	// Lag: since the vault last held everything the node had synced.
	out.LagSeconds = lag(now, s.CaughtUp, s.CaughtUpAt, running, s.UpdatedAt, s.StartedAt)
	lagging := out.LagSeconds > LagLimit.Seconds()
	if s.Origins != nil {
		out.Origins = make(map[string]OriginStatus, len(s.Origins))
	}
	for code, o := range s.Origins {
		o.LagSeconds = lag(now, o.CaughtUp, o.CaughtUpAt, running, s.UpdatedAt, s.StartedAt)
		o.State = state(out.AlertDetails, code, running && s.SourceReachable, o.LagSeconds)
		lagging = lagging || o.LagSeconds > LagLimit.Seconds()
		out.Origins[code] = o
	}

	has := func(kind string) bool {
		return slices.ContainsFunc(out.AlertDetails, func(a Alert) bool { return a.Kind == kind })
	}
	switch {
	case has(AlertForkDetected), has(AlertKeyChanged):
		out.State = StateForkDetected
	case has(AlertDamaged):
		out.State = StateDamaged
	case !running, !s.SourceReachable:
		out.State = StateSourceUnreachable
	case lagging:
		out.State = StateLagging
	default:
		out.State = StateOK
	}
	out.Alerts = make([]string, len(out.AlertDetails))
	for i, a := range out.AlertDetails {
		out.Alerts[i] = a.String()
	}
	if out.AlertDetails == nil {
		out.AlertDetails = []Alert{}
	}
	return out
}

// lag is the seconds since a journal's copy last held everything the
// source had synced: 0 while caught up.
func lag(now time.Time, caughtUp bool, caughtUpAt time.Time, running bool, updated, started time.Time) float64 {
	since := caughtUpAt
	if caughtUp {
		since = now
		if !running {
			since = updated
		}
	}
	if since.IsZero() {
		since = started
	}
	if !since.IsZero() && now.After(since) {
		return now.Sub(since).Seconds()
	}
	return 0
}

// state is the state of the copy of another node's journal (code), from
// the alerts about it.
func state(alerts []Alert, code string, reachable bool, lagSeconds float64) string {
	has := func(kinds ...string) bool {
		return slices.ContainsFunc(alerts, func(a Alert) bool { return a.Origin == code && slices.Contains(kinds, a.Kind) })
	}
	switch {
	case has(AlertForkDetected, AlertKeyChanged):
		return StateForkDetected
	case has(AlertDamaged):
		return StateDamaged
	case !reachable:
		return StateSourceUnreachable
	case lagSeconds > LagLimit.Seconds():
		return StateLagging
	}
	return StateOK
}

// ReadStatus reads dir's status.json as the vault process last wrote it; the
// error wraps fs.ErrNotExist when the vault has not run there yet. Call At
// on the result for the state as of now.
func ReadStatus(dir string) (Status, error) {
	data, err := os.ReadFile(filepath.Join(dir, statusFile))
	if err != nil {
		return Status{}, fmt.Errorf("vault: status: %w", err)
	}
	var s Status
	if err := json.Unmarshal(data, &s); err != nil {
		return Status{}, fmt.Errorf("vault: status: %s: %v", filepath.Join(dir, statusFile), err)
	}
	return s, nil
}

// writeStatus replaces dir's status.json atomically: a reader sees the old
// file or the new one, never a part, and after a crash the last one written.
func writeStatus(dir string, s Status) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("vault: status: %w", err)
	}
	if err := durable.WriteFile(filepath.Join(dir, statusFile), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("vault: status: %w", err)
	}
	return nil
}
