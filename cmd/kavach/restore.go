package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"filippo.io/age"
	"golang.org/x/mod/sumdb/note"

	"kavach/hospital"
	"kavach/journal"
	"kavach/node"
	"kavach/vault"
)

const restoreUsage = `Usage: kavach restore --vault DIR --identity FILE --to DIR [--until RFC3339] [--json]

Rebuilds a node from a vault onto this machine. It checks the vault's files
(as 'kavach vault scrub' does), decrypts the segments with the offline age
identity, checks every event against the Merkle tree and every signed
checkpoint, rebuilds every table, gives the node a new signing key (journaled
as a key change), and reports what it restored. Then start the node with
'kavach serve --data DIR'. Stop the vault process on DIR first.

Flags:
  --vault DIR       the vault's data directory (or a copy of it)
  --identity FILE   the offline age identity (AGE-SECRET-KEY-1…)
  --to DIR          a new, empty data directory for the node
  --until TIME      restore only events up to this time (RFC 3339)
  --json            print one JSON object:
                    {"ok","events","last_event_time","checkpoint","seconds"}

Exit status: 0 restored, 1 the vault or its events failed a check, 2 bad usage.
`

type restoreCmd struct {
	stdout, stderr io.Writer
}

// vaultConfig is what restore reads from the vault's vault.json.
type vaultConfig struct {
	Origin       string   `json:"origin"`
	SourceKey    string   `json:"source_key"`
	ApprovedKeys []string `json:"approved_keys"`
}

func (c *restoreCmd) run(ctx context.Context, args []string) error {
	fs := newFlags("restore", restoreUsage, c.stderr)
	vdir := fs.String("vault", "", "")
	idFile := fs.String("identity", "", "")
	to := fs.String("to", "", "")
	until := fs.String("until", "", "")
	asJSON := fs.Bool("json", false, "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *vdir == "" || *idFile == "" || *to == "" {
		return usageErr("restore: --vault, --identity and --to are required")
	}
	var untilT time.Time
	if *until != "" {
		t, err := time.Parse(time.RFC3339, *until)
		if err != nil {
			return usageErr("restore: --until must be a time like 2026-11-23T07:00:00+05:30")
		}
		untilT = t
	}
	start := time.Now()
	fail := func(err error) error {
		if *asJSON {
			json.NewEncoder(c.stdout).Encode(map[string]any{"ok": false, "error": err.Error(), "seconds": time.Since(start).Seconds()})
			return &exitError{code: exitFault}
		}
		return &exitError{code: exitFault, msg: err.Error()}
	}

	var cfg vaultConfig
	raw, err := os.ReadFile(filepath.Join(*vdir, "vault.json"))
	if err != nil {
		return fmt.Errorf("restore: not a vault directory: %w", err)
	}
	if err := json.Unmarshal(raw, &cfg); err != nil || cfg.Origin == "" || cfg.SourceKey == "" {
		return fmt.Errorf("restore: %s/vault.json has no origin or source key", *vdir)
	}
	var verifiers []note.Verifier
	var olderV []note.Verifier
	for _, k := range append([]string{cfg.SourceKey}, cfg.ApprovedKeys...) {
		v, err := note.NewVerifier(k)
		if err != nil {
			return fail(fmt.Errorf("restore: vault.json key %q: %w", k, err))
		}
		verifiers = append(verifiers, v)
	}
	if len(verifiers) > 1 {
		olderV = verifiers[:len(verifiers)-1]
	}
	f, err := os.Open(*idFile)
	if err != nil {
		return fmt.Errorf("restore: identity: %w", err)
	}
	ids, err := age.ParseIdentities(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("restore: identity %s: %w", *idFile, err)
	}

	store, err := vault.OpenStore(filepath.Join(*vdir, "store"))
	if err != nil {
		return fail(fmt.Errorf("restore: open the vault: %w", err))
	}
	defer store.Close()
	if rep := store.Scrub(cfg.Origin, verifiers[len(verifiers)-1], olderV...); !rep.OK {
		return fail(fmt.Errorf("restore: the vault failed its check: %v", rep.Faults))
	}
	cps := map[uint64][]byte{}
	for _, g := range store.Segments() {
		cps[g.First+g.Count] = g.Checkpoint
	}
	total := store.Size()
	progress := func(n uint64) {}
	if isTerminal(c.stderr) && !*asJSON {
		progress = func(n uint64) {
			const width = 40
			done := int(float64(width) * float64(n) / float64(max(total, 1)))
			fmt.Fprintf(c.stderr, "\rrestoring [%-*s] %d/%d events %.0f/s", width, string(bar(done)), n, total, float64(n)/time.Since(start).Seconds())
		}
	}
	rep, err := node.Restore(ctx, *to, hospital.Services(), node.RestoreInput{
		Origin:      cfg.Origin,
		Verifiers:   verifiers,
		Checkpoints: cps,
		Progress:    progress,
		Events: func(each func(uint64, []byte) error) error {
			var stopAt func(uint64, []byte) bool
			if !untilT.IsZero() {
				stopAt = func(_ uint64, data []byte) bool {
					e, err := journal.Decode(data)
					return err == nil && e.Time.After(untilT)
				}
			}
			return store.Events(ids, stopAt, each)
		},
	})
	if isTerminal(c.stderr) && !*asJSON {
		fmt.Fprintln(c.stderr)
	}
	if err != nil {
		os.RemoveAll(*to) // nothing half-restored is left to be started by mistake
		return fail(err)
	}
	// Opening the node journals its new key (node.pub) before it signs
	// anything; then the restore itself is journaled.
	h, err := hospital.Open(ctx, node.Config{Dir: *to})
	if err != nil {
		return fail(err)
	}
	err = h.Node.MarkRestored(ctx, rep.Events, rep.Checkpoint)
	h.Close()
	if err != nil {
		return fail(err)
	}
	secs := time.Since(start).Seconds()
	if *asJSON {
		return json.NewEncoder(c.stdout).Encode(map[string]any{
			"ok": true, "events": rep.Events, "last_event_time": rep.LastEventTime.Format(time.RFC3339Nano),
			"checkpoint": rep.Checkpoint, "checkpoint_size": rep.CheckpointAt, "seconds": secs,
			"events_per_second": float64(rep.Events) / secs, "new_verifier": rep.NewVerifier,
		})
	}
	fmt.Fprintf(c.stdout, "restored %d events (last at %s) in %.1fs into %s\nmatched checkpoint at %d events:\n%s\nnew node key: %s\nstart it with: kavach serve --data %s\n",
		rep.Events, rep.LastEventTime.Format(time.RFC3339), secs, *to, rep.CheckpointAt, rep.Checkpoint, rep.NewVerifier, *to)
	return nil
}

func bar(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = '='
	}
	return b
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
