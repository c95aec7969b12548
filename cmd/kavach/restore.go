package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"filippo.io/age"
	"golang.org/x/mod/sumdb/note"

	"kavach/hospital"
	"kavach/internal/durable"
	"kavach/journal"
	"kavach/node"
	"kavach/vault"
)

const restoreUsage = `Usage: kavach restore --vault DIR --identity FILE --to DIR [--until RFC3339]
                      [--expect-events N] [--accept-missing] [--json]
       kavach restore --vault DIR --from-s3 --s3-endpoint E --s3-bucket NAME
                      --s3-access-key-file FILE --s3-secret-key-file FILE [--s3-region R]
                      --identity FILE --to DIR [--until RFC3339]
                      [--expect-events N] [--accept-missing] [--json]

Rebuilds a node from a vault onto this machine. It checks the vault's files
(as 'kavach vault scrub' does), decrypts the segments with the offline age
identity, checks every event against the Merkle tree and every signed
checkpoint, rebuilds every table, gives the node a new signing key (journaled
as a key change), and reports what it restored. Then start the node with
'kavach serve --data DIR'. It changes nothing in the vault directory and may
run while the vault process runs on it (a drill need not stop the backups): it
restores the store as it is when the restore starts.

A vault records the largest history it has confirmed to the node
(DIR/confirmed.json). If the store holds less (its newest files, or all of
them, were deleted), the restore says how many events are missing and
refuses: restore from the S3 copy or another vault, or give --accept-missing
to restore what is there. Should that record be gone too, give the node's
own figure of what this vault confirmed (its status page, or the metric
kavach_vault_backed_up_events) with --expect-events.

With --from-s3 it restores from the vault's S3 copy instead of DIR/store (the
vault host's disk is lost or encrypted): it downloads the locked versions of
the files into a temporary directory (under $TMPDIR), checks and restores
them as above, and deletes the download. DIR then needs only the vault's
vault.json (it holds the node's origin and keys, nothing secret): keep a copy
of it with the identity envelope.

A vault of a central node holds its sites' journals too (DIR/origins/XX/store;
in S3 under origins/XX/): the restore checks each against the keys vault.json
trusts for that node and restores them with the node's own, then applies every
event in causal order. The report lists the events restored of each other
node ("origins"), those that wait for events the vault does not hold
("waiting": the node they come from sends them again when it reconnects) and
what could not be applied in causal order ("notes").

Flags:
  --vault DIR       the vault's data directory (or a copy of it; with --from-s3,
                    a directory holding a copy of its vault.json is enough)
  --identity FILE   the offline age identity (AGE-SECRET-KEY-1…)
  --to DIR          a new, empty data directory for the node
  --until TIME      restore only events up to this time (RFC 3339)
  --expect-events N  the vault must hold at least N events: the node's last
                    figure of what it confirmed, for when confirmed.json is gone
  --accept-missing  restore what the vault holds even if it holds less than it
                    confirmed (or than --expect-events); the report says how much
                    is missing
  --json            print one JSON object: {"ok","events","last_event_time",
                    "checkpoint","seconds","expected_events","missing_events",
                    "origins":{"KB":N},"waiting":{"KB":N},"notes":[…],…}
  --from-s3         restore from the S3 copy; then the S3 flags of 'kavach vault'
                    say where it is: --s3-endpoint, --s3-bucket,
                    --s3-access-key-file, --s3-secret-key-file (required),
                    --s3-region (optional); --s3-retention is accepted and unused

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
	// Origins are the other nodes' journals the vault pulled through the
	// node: whom it trusts for each.
	Origins map[string]struct {
		Origin       string   `json:"origin"`
		Key          string   `json:"key"`
		ApprovedKeys []string `json:"approved_keys"`
	} `json:"origins"`
}

func (c *restoreCmd) run(ctx context.Context, args []string) error {
	r, err := c.parseFlags(args)
	if err != nil {
		return err
	}
	// Never touch what is already at --to: build beside it and move it into
	// place only when the restore succeeded.
	final := filepath.Clean(r.to)
	work, err := makeRestoreDir(final)
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	target := filepath.Join(work, "node")
	if err := r.parseUntil(); err != nil {
		return err
	}
	r.start = time.Now()

	cfg, verifiers, ids, err := r.readVault()
	if err != nil {
		return err
	}
	// Before the store's snapshot: the vault process may be appending, and
	// a record read after could count events the snapshot does not hold.
	r.conf, r.confErr = vault.ReadConfirmed(r.vdir)
	r.expected = max(r.conf.Events, r.expect)
	base, tmp, err := r.fetchStore(ctx, cfg)
	if tmp != "" {
		defer os.RemoveAll(tmp)
	}
	if err != nil {
		return err
	}
	store, err := r.openStore(vault.StoreDir(base), cfg, verifiers)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := r.checkMissing(store); err != nil {
		return err
	}
	replicas, err := r.openOrigins(base, cfg, ids)
	if err != nil {
		return err
	}
	segs := store.Segments()
	rep, err := r.restore(ctx, target, store, segs, cfg, verifiers, ids, replicas)
	if err != nil {
		return r.fail(err) // the deferred RemoveAll takes the half-restored node
	}
	covering, coveringSize := coveringCheckpoint(rep, segs)
	if err := markRestored(ctx, target, rep.Events, covering); err != nil {
		return r.fail(err)
	}
	if err := moveIntoPlace(target, final); err != nil {
		return r.fail(err)
	}
	return r.report(rep, final, covering, coveringSize)
}

// restoreRun is one run of the restore command: what it was asked, and when
// it began.
type restoreRun struct {
	*restoreCmd
	vdir, idFile, to, until string
	asJSON                  bool
	s3                      *vault.S3Config // nil: restore from the vault directory's store
	untilT                  time.Time       // zero: every event
	start                   time.Time
	expect                  uint64 // --expect-events; 0 not given
	acceptMissing           bool

	// What the vault confirmed to the node, and what the store lacks of it.
	conf     vault.Confirmed
	confErr  error
	expected uint64   // the events the store must hold: the largest of confirmed.json and --expect-events
	missing  uint64   // how many of them it lacks
	warnings []string // what --accept-missing went past
}

// parseFlags reads the command line and checks that the flags go together.
func (c *restoreCmd) parseFlags(args []string) (*restoreRun, error) {
	r := &restoreRun{restoreCmd: c}
	fs := newFlags("restore", restoreUsage, c.stderr)
	fs.StringVar(&r.vdir, "vault", "", "")
	fs.StringVar(&r.idFile, "identity", "", "")
	fs.StringVar(&r.to, "to", "", "")
	fs.StringVar(&r.until, "until", "", "")
	fs.BoolVar(&r.asJSON, "json", false, "")
	fs.Uint64Var(&r.expect, "expect-events", 0, "")
	fs.BoolVar(&r.acceptMissing, "accept-missing", false, "")
	fromS3 := fs.Bool("from-s3", false, "")
	var s3f s3Flags
	s3f.register(fs, false)
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	if r.vdir == "" || r.idFile == "" || r.to == "" {
		return nil, usageErr("restore: --vault, --identity and --to are required")
	}
	if given := s3f.given(fs); !*fromS3 && len(given) > 0 {
		return nil, usageErr("restore: %s: give --from-s3 to restore from the S3 copy", strings.Join(given, ", "))
	} else if *fromS3 {
		if len(given) == 0 {
			return nil, usageErr("restore: --from-s3 needs --s3-endpoint, --s3-bucket, --s3-access-key-file and --s3-secret-key-file")
		}
		cfg, err := s3f.config("restore", fs)
		if err != nil {
			return nil, err
		}
		r.s3 = cfg
	}
	return r, nil
}

// makeRestoreDir checks that final is empty or not there yet, and makes the
// directory beside it that the node is built in.
func makeRestoreDir(final string) (string, error) {
	if ents, err := os.ReadDir(final); err == nil && len(ents) > 0 {
		return "", usageErr("restore: --to %s is not empty; restore into a new or empty directory", final)
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
		return "", err
	}
	return os.MkdirTemp(filepath.Dir(final), "."+filepath.Base(final)+".restoring-*")
}

// parseUntil reads --until, if given.
func (r *restoreRun) parseUntil() error {
	if r.until == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339, r.until)
	if err != nil {
		return usageErr("restore: --until must be a time like 2026-11-23T07:00:00+05:30")
	}
	r.untilT = t
	return nil
}

// fail turns err into the command's failure: its exit status, and with
// --json its report. An identity that opens nothing is the operator's
// mistake, not a fault of the vault.
func (r *restoreRun) fail(err error) error {
	code := exitFault
	if ee := (*exitError)(nil); errors.As(err, &ee) {
		code = ee.code
	}
	if noMatch := (*age.NoIdentityMatchError)(nil); errors.As(err, &noMatch) {
		// The operator's input, not a fault of the vault.
		code = exitUsage
		err = fmt.Errorf("restore: the identity in %s does not open this vault's segments: it is not the identity of any recipient the vault encrypts to (vault.json lists them); use the offline identity kept for this vault (%w)", r.idFile, err)
	}
	if r.asJSON {
		out := map[string]any{"ok": false, "error": err.Error(), "seconds": time.Since(r.start).Seconds()}
		if r.missing > 0 {
			out["missing_events"], out["expected_events"] = r.missing, r.expected
		}
		json.NewEncoder(r.stdout).Encode(out)
		return &exitError{code: code}
	}
	return &exitError{code: code, msg: err.Error()}
}

// readVault reads the vault's vault.json and the offline identity: the
// node's origin, its keys as verifiers (the current one last), and the
// identities that decrypt the segments.
func (r *restoreRun) readVault() (vaultConfig, []note.Verifier, []age.Identity, error) {
	var cfg vaultConfig
	raw, err := os.ReadFile(filepath.Join(r.vdir, "vault.json"))
	if err != nil {
		return cfg, nil, nil, fmt.Errorf("restore: not a vault directory: %w", err)
	}
	if err := json.Unmarshal(raw, &cfg); err != nil || cfg.Origin == "" || cfg.SourceKey == "" {
		return cfg, nil, nil, fmt.Errorf("restore: %s/vault.json has no origin or source key", r.vdir)
	}
	var verifiers []note.Verifier
	for _, k := range append([]string{cfg.SourceKey}, cfg.ApprovedKeys...) {
		v, err := note.NewVerifier(k)
		if err != nil {
			return cfg, nil, nil, r.fail(fmt.Errorf("restore: vault.json key %q: %w", k, err))
		}
		verifiers = append(verifiers, v)
	}
	f, err := os.Open(r.idFile)
	if err != nil {
		return cfg, nil, nil, fmt.Errorf("restore: identity: %w", err)
	}
	ids, err := age.ParseIdentities(f)
	f.Close()
	if err != nil {
		return cfg, nil, nil, fmt.Errorf("restore: identity %s: %w", r.idFile, err)
	}
	return cfg, verifiers, ids, nil
}

// fetchStore returns the directory laid out as a vault's (store/ and
// origins/XX/store/) to restore from: the vault directory, or, with
// --from-s3, the S3 copy downloaded into tmp, which the caller removes
// (even after an error).
func (r *restoreRun) fetchStore(ctx context.Context, cfg vaultConfig) (dir, tmp string, err error) {
	if r.s3 == nil {
		if _, err := os.Stat(vault.StoreDir(r.vdir)); err != nil {
			lost := ""
			if r.expected > 0 {
				r.missing = r.expected
				lost = fmt.Sprintf(" (all %d events the vault confirmed to the node are missing)", r.expected)
			}
			return "", "", r.fail(fmt.Errorf("restore: no store in the vault directory%s: %w; if the vault host lost it, restore from the S3 copy (--from-s3)", lost, err))
		}
		return r.vdir, "", nil
	}
	tmp, err = os.MkdirTemp("", "kavach-restore-s3-*")
	if err != nil {
		return "", "", fmt.Errorf("restore: %w", err)
	}
	codes := slices.Sorted(maps.Keys(cfg.Origins))
	if err := downloadS3(ctx, *r.s3, tmp, codes, r.stderr, r.asJSON); err != nil {
		return "", tmp, r.fail(err)
	}
	return tmp, tmp, nil
}

// openOrigins opens a snapshot of the store of every other node's journal
// under base, checks its files as 'kavach vault scrub' does against the
// keys vault.json trusts for that node, and returns them as a restore's
// replicas.
func (r *restoreRun) openOrigins(base string, cfg vaultConfig, ids []age.Identity) ([]node.ReplicaInput, error) {
	codes, err := vault.OriginCodes(base)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	var out []node.ReplicaInput
	for _, code := range codes {
		t, trusted := cfg.Origins[code]
		store, err := vault.OpenSnapshot(vault.OriginStoreDir(base, code))
		if err != nil {
			return nil, r.fail(fmt.Errorf("restore: open node %s's journal in the vault: %w", code, err))
		}
		if store.Size() == 0 {
			continue // never got a verified batch
		}
		if !trusted || t.Key == "" {
			return nil, r.fail(fmt.Errorf("restore: the vault holds node %s's journal, but its vault.json trusts no key of it (replaced?): put back the vault.json from your records", code))
		}
		var vs []note.Verifier
		for _, k := range append([]string{t.Key}, t.ApprovedKeys...) {
			v, err := note.NewVerifier(k)
			if err != nil {
				return nil, r.fail(fmt.Errorf("restore: vault.json key %q of node %s: %w", k, code, err))
			}
			vs = append(vs, v)
		}
		if rep := store.Scrub(t.Origin, vs[len(vs)-1], vs[:len(vs)-1]...); !rep.OK {
			return nil, r.fail(fmt.Errorf("restore: node %s's journal in the vault failed its check: %v", code, rep.Faults))
		}
		cps := map[uint64][]byte{}
		for _, g := range store.Segments() {
			cps[g.First+g.Count] = g.Checkpoint
		}
		out = append(out, node.ReplicaInput{Origin: code, Checkpoints: cps, Events: func(each func(uint64, []byte) error) error {
			return store.Events(ids, r.stopAt(), each)
		}})
	}
	return out, nil
}

// stopAt is what stops a journal's events at --until, nil without it.
func (r *restoreRun) stopAt() func(uint64, []byte) bool {
	if r.untilT.IsZero() {
		return nil
	}
	return func(_ uint64, data []byte) bool {
		e, err := journal.Decode(data)
		return err == nil && e.Time.After(r.untilT)
	}
}

// openStore opens a snapshot of the store in dir (the vault process may be
// appending to it) and checks its files as 'kavach vault scrub' does,
// against the node's keys.
func (r *restoreRun) openStore(dir string, cfg vaultConfig, verifiers []note.Verifier) (*vault.Store, error) {
	var olderV []note.Verifier
	if len(verifiers) > 1 {
		olderV = verifiers[:len(verifiers)-1]
	}
	store, err := vault.OpenSnapshot(dir)
	if err != nil {
		return nil, r.fail(fmt.Errorf("restore: open the vault: %w", err))
	}
	if rep := store.Scrub(cfg.Origin, verifiers[len(verifiers)-1], olderV...); !rep.OK {
		err := r.fail(fmt.Errorf("restore: the vault failed its check: %v", rep.Faults))
		store.Close()
		return nil, err
	}
	return store, nil
}

// checkMissing compares the store with what the vault confirmed to the node
// and with --expect-events. A store that holds less lost its newest files
// (or all of them) and is sound in itself: only these figures show it. It
// refuses, saying how much is missing, unless --accept-missing.
func (r *restoreRun) checkMissing(store *vault.Store) error {
	have := store.Size()
	var why []string
	if r.confErr != nil {
		why = append(why, r.confErr.Error())
	}
	if f := r.conf.Check(store); f != "" {
		why = append(why, f)
	}
	if r.expect > have {
		why = append(why, fmt.Sprintf("the vault holds %d events, fewer than the %d given with --expect-events", have, r.expect))
	}
	if have < r.expected {
		r.missing = r.expected - have
	}
	if len(why) == 0 {
		return nil
	}
	if r.acceptMissing {
		r.warnings = why
		return nil
	}
	msg := "restore: "
	if r.missing > 0 {
		msg += fmt.Sprintf("%d events are missing: ", r.missing)
	}
	return r.fail(errors.New(msg + strings.Join(why, "; ") + ". Restore from the S3 copy (--from-s3) or another vault, or give --accept-missing to restore what this vault holds"))
}

// restore rebuilds the node in target from the store's events (up to
// --until), showing its progress on a terminal.
func (r *restoreRun) restore(ctx context.Context, target string, store *vault.Store, segs []vault.Segment, cfg vaultConfig, verifiers []note.Verifier, ids []age.Identity, replicas []node.ReplicaInput) (*node.RestoreReport, error) {
	cps := map[uint64][]byte{}
	for _, g := range segs {
		cps[g.First+g.Count] = g.Checkpoint
	}
	showProgress := isTerminal(r.stderr) && !r.asJSON
	progress := func(n uint64) {}
	if showProgress {
		total := store.Size()
		progress = func(n uint64) {
			const width = 40
			done := int(float64(width) * float64(n) / float64(max(total, 1)))
			fmt.Fprintf(r.stderr, "\rrestoring [%-*s] %d/%d events %.0f/s", width, string(bar(done)), n, total, float64(n)/time.Since(r.start).Seconds())
		}
	}
	rep, err := node.Restore(ctx, target, hospital.Services(), node.RestoreInput{
		Origin:      cfg.Origin,
		Verifiers:   verifiers,
		Checkpoints: cps,
		Progress:    progress,
		Events: func(each func(uint64, []byte) error) error {
			return store.Events(ids, r.stopAt(), each)
		},
		Replicas: replicas,
	})
	if showProgress {
		fmt.Fprintln(r.stderr)
	}
	if errors.Is(err, node.ErrNoEvents) && !r.untilT.IsZero() {
		err = usageErr("restore: no event in the vault is at or before %s (--until): the node's journal begins later", r.until)
	}
	return rep, err
}

// coveringCheckpoint returns the signed checkpoint that proves the events
// restored, and its size. A point in time between two checkpoints: the
// events restored are the first ones of a segment whose checkpoint, further
// on, proves them.
func coveringCheckpoint(rep *node.RestoreReport, segs []vault.Segment) (string, uint64) {
	covering, coveringSize := rep.Checkpoint, rep.CheckpointAt
	if coveringSize != rep.Events {
		for _, g := range segs {
			if g.First < rep.Events && rep.Events <= g.First+g.Count {
				covering, coveringSize = string(g.Checkpoint), g.First+g.Count
			}
		}
	}
	return covering, coveringSize
}

// markRestored opens the restored node in target, which journals its new
// key (node.pub) before it signs anything; then journals the restore itself
// and ends every session.
func markRestored(ctx context.Context, target string, events uint64, covering string) error {
	h, err := hospital.Open(ctx, node.Config{Dir: target})
	if err != nil {
		return err
	}
	err = h.Node.MarkRestored(ctx, events, covering)
	if err == nil {
		// Everyone logs in again: a token taken from the attacked node must
		// not open this one.
		_, err = h.Auth.EndAllSessions(ctx, "system")
	}
	h.Close()
	return err
}

// moveIntoPlace moves the restored node in target to final, durably.
func moveIntoPlace(target, final string) error {
	os.Remove(final) // an empty directory made ready for the restore
	if err := os.Rename(target, final); err != nil {
		return fmt.Errorf("restore: move the restored node into %s: %w", final, err)
	}
	return durable.SyncDir(filepath.Dir(final))
}

// report says what was restored, as JSON with --json.
func (r *restoreRun) report(rep *node.RestoreReport, final, covering string, coveringSize uint64) error {
	secs := time.Since(r.start).Seconds()
	if r.asJSON {
		out := map[string]any{
			"ok": true, "events": rep.Events, "last_event_time": rep.LastEventTime.Format(time.RFC3339Nano),
			"checkpoint": covering, "checkpoint_size": coveringSize, "seconds": secs,
			"events_per_second": float64(rep.Events) / secs, "new_verifier": rep.NewVerifier,
			"expected_events": r.expected, "missing_events": r.missing,
		}
		if len(r.warnings) > 0 {
			out["warnings"] = r.warnings
		}
		if rep.Origins != nil {
			out["origins"] = rep.Origins
		}
		if rep.Waiting != nil {
			out["waiting"] = rep.Waiting
		}
		if rep.Notes != nil {
			out["notes"] = rep.Notes
		}
		return json.NewEncoder(r.stdout).Encode(out)
	}
	how := "matched the signed checkpoint at"
	if coveringSize != rep.Events {
		how = "proven by the signed checkpoint further on, at"
	}
	fmt.Fprintf(r.stdout, "restored %d events (last at %s) in %.1fs into %s\n%s %d events:\n%s\nnew node key: %s\nstart it with: kavach serve --data %s\n",
		rep.Events, rep.LastEventTime.Format(time.RFC3339), secs, final, how, coveringSize, covering, rep.NewVerifier, final)
	for _, code := range slices.Sorted(maps.Keys(rep.Origins)) {
		fmt.Fprintf(r.stdout, "restored %d events of node %s's journal", rep.Origins[code], code)
		if n := rep.Waiting[code]; n > 0 {
			fmt.Fprintf(r.stdout, ", %d of them waiting for events of another node that the vault does not hold (node %s sends them again when it reconnects)", n, code)
		}
		fmt.Fprintln(r.stdout)
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(r.stdout, "NOTE: %s\n", n)
	}
	for _, w := range r.warnings {
		fmt.Fprintf(r.stdout, "WARNING (--accept-missing): %s\n", w)
	}
	if r.missing > 0 {
		fmt.Fprintf(r.stdout, "WARNING: %d of the %d events the vault should hold are missing: restored only what it holds\n", r.missing, r.expected)
	}
	return nil
}

// downloadS3 fetches the vault's S3 copy into dir, laid out as a vault's
// directory: the node's own store, and the store of each of the other
// nodes' journals, codes.
func downloadS3(ctx context.Context, cfg vault.S3Config, dir string, codes []string, stderr io.Writer, quiet bool) error {
	s3, err := vault.OpenS3(ctx, cfg)
	if errors.Is(err, vault.ErrNoObjectLock) && s3 != nil {
		// What is there is checked against vault.json's keys all the same.
		if !quiet {
			fmt.Fprintf(stderr, "warning: %v; downloading what is there\n", err)
		}
	} else if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if !quiet && isTerminal(stderr) {
		fmt.Fprintf(stderr, "downloading the S3 copy from the bucket %s at %s…\n", cfg.Bucket, cfg.Endpoint)
	}
	if err := s3.Download(ctx, vault.StoreDir(dir)); err != nil {
		return fmt.Errorf("restore: the S3 copy: %w", err)
	}
	for _, code := range codes {
		if err := s3.Prefixed(vault.OriginPrefix(code)).Download(ctx, vault.OriginStoreDir(dir, code)); err != nil {
			return fmt.Errorf("restore: the S3 copy of node %s's journal: %w", code, err)
		}
	}
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
