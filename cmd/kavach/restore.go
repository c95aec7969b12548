package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
	"golang.org/x/mod/sumdb/note"

	"kavach/hospital"
	"kavach/internal/dirlock"
	"kavach/internal/durable"
	"kavach/journal"
	"kavach/node"
	"kavach/vault"
)

const restoreUsage = `Usage: kavach restore --vault DIR --identity FILE --to DIR [--until RFC3339] [--json]
       kavach restore --vault DIR --from-s3 --s3-endpoint E --s3-bucket NAME
                      --s3-access-key-file FILE --s3-secret-key-file FILE [--s3-region R]
                      --identity FILE --to DIR [--until RFC3339] [--json]

Rebuilds a node from a vault onto this machine. It checks the vault's files
(as 'kavach vault scrub' does), decrypts the segments with the offline age
identity, checks every event against the Merkle tree and every signed
checkpoint, rebuilds every table, gives the node a new signing key (journaled
as a key change), and reports what it restored. Then start the node with
'kavach serve --data DIR'. Stop the vault process on DIR first.

With --from-s3 it restores from the vault's S3 copy instead of DIR/store (the
vault host's disk is lost or encrypted): it downloads the locked versions of
the files into a temporary directory (under $TMPDIR), checks and restores
them as above, and deletes the download. DIR then needs only the vault's
vault.json (it holds the node's origin and keys, nothing secret): keep a copy
of it with the identity envelope.

Flags:
  --vault DIR       the vault's data directory (or a copy of it; with --from-s3,
                    a directory holding a copy of its vault.json is enough)
  --identity FILE   the offline age identity (AGE-SECRET-KEY-1…)
  --to DIR          a new, empty data directory for the node
  --until TIME      restore only events up to this time (RFC 3339)
  --json            print one JSON object:
                    {"ok","events","last_event_time","checkpoint","seconds"}
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
}

func (c *restoreCmd) run(ctx context.Context, args []string) error {
	fs := newFlags("restore", restoreUsage, c.stderr)
	vdir := fs.String("vault", "", "")
	idFile := fs.String("identity", "", "")
	to := fs.String("to", "", "")
	until := fs.String("until", "", "")
	asJSON := fs.Bool("json", false, "")
	fromS3 := fs.Bool("from-s3", false, "")
	var s3f s3Flags
	s3f.register(fs, false)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *vdir == "" || *idFile == "" || *to == "" {
		return usageErr("restore: --vault, --identity and --to are required")
	}
	var s3cfg *vault.S3Config
	if given := s3f.given(fs); !*fromS3 && len(given) > 0 {
		return usageErr("restore: %s: give --from-s3 to restore from the S3 copy", strings.Join(given, ", "))
	} else if *fromS3 {
		if len(given) == 0 {
			return usageErr("restore: --from-s3 needs --s3-endpoint, --s3-bucket, --s3-access-key-file and --s3-secret-key-file")
		}
		cfg, err := s3f.config("restore", fs)
		if err != nil {
			return err
		}
		s3cfg = cfg
	}
	// Never touch what is already at --to: build beside it and move it into
	// place only when the restore succeeded.
	final := filepath.Clean(*to)
	if ents, err := os.ReadDir(final); err == nil && len(ents) > 0 {
		return usageErr("restore: --to %s is not empty; restore into a new or empty directory", final)
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
		return err
	}
	work, err := os.MkdirTemp(filepath.Dir(final), "."+filepath.Base(final)+".restoring-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	target := filepath.Join(work, "node")

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
		code := exitFault
		if ee := (*exitError)(nil); errors.As(err, &ee) {
			code = ee.code
		}
		if errors.Is(err, dirlock.ErrLocked) {
			code = exitUsage // the vault process runs on DIR: an operator's mistake, not a fault
		}
		if noMatch := (*age.NoIdentityMatchError)(nil); errors.As(err, &noMatch) {
			// The operator's input, not a fault of the vault.
			code = exitUsage
			err = fmt.Errorf("restore: the identity in %s does not open this vault's segments: it is not the identity of any recipient the vault encrypts to (vault.json lists them); use the offline identity kept for this vault (%w)", *idFile, err)
		}
		if *asJSON {
			json.NewEncoder(c.stdout).Encode(map[string]any{"ok": false, "error": err.Error(), "seconds": time.Since(start).Seconds()})
			return &exitError{code: code}
		}
		return &exitError{code: code, msg: err.Error()}
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

	storeDir := filepath.Join(*vdir, "store")
	if s3cfg != nil {
		tmp, err := os.MkdirTemp("", "kavach-restore-s3-*")
		if err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		defer os.RemoveAll(tmp)
		storeDir = filepath.Join(tmp, "store")
		if err := downloadS3(ctx, *s3cfg, storeDir, c.stderr, *asJSON); err != nil {
			return fail(err)
		}
	} else if _, err := os.Stat(storeDir); err != nil {
		return fail(fmt.Errorf("restore: no store in the vault directory: %w; if the vault host lost it, restore from the S3 copy (--from-s3)", err))
	}
	store, err := vault.OpenStore(storeDir)
	if err != nil {
		return fail(fmt.Errorf("restore: open the vault: %w", err))
	}
	defer store.Close()
	if rep := store.Scrub(cfg.Origin, verifiers[len(verifiers)-1], olderV...); !rep.OK {
		return fail(fmt.Errorf("restore: the vault failed its check: %v", rep.Faults))
	}
	cps := map[uint64][]byte{}
	segs := store.Segments()
	for _, g := range segs {
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
	rep, err := node.Restore(ctx, target, hospital.Services(), node.RestoreInput{
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
	if errors.Is(err, node.ErrNoEvents) && !untilT.IsZero() {
		err = usageErr("restore: no event in the vault is at or before %s (--until): the node's journal begins later", *until)
	}
	if err != nil {
		return fail(err) // the deferred RemoveAll takes the half-restored node
	}
	// A point in time between two checkpoints: the events restored are the
	// first ones of a segment whose checkpoint, further on, proves them.
	covering, coveringSize := rep.Checkpoint, rep.CheckpointAt
	if coveringSize != rep.Events {
		for _, g := range segs {
			if g.First < rep.Events && rep.Events <= g.First+g.Count {
				covering, coveringSize = string(g.Checkpoint), g.First+g.Count
			}
		}
	}
	// Opening the node journals its new key (node.pub) before it signs
	// anything; then the restore itself is journaled.
	h, err := hospital.Open(ctx, node.Config{Dir: target})
	if err != nil {
		return fail(err)
	}
	err = h.Node.MarkRestored(ctx, rep.Events, covering)
	if err == nil {
		// Everyone logs in again: a token taken from the attacked node must
		// not open this one.
		_, err = h.Auth.EndAllSessions(ctx, "system")
	}
	h.Close()
	if err != nil {
		return fail(err)
	}
	os.Remove(final) // an empty directory made ready for the restore
	if err := os.Rename(target, final); err != nil {
		return fail(fmt.Errorf("restore: move the restored node into %s: %w", final, err))
	}
	if err := durable.SyncDir(filepath.Dir(final)); err != nil {
		return fail(err)
	}
	secs := time.Since(start).Seconds()
	if *asJSON {
		return json.NewEncoder(c.stdout).Encode(map[string]any{
			"ok": true, "events": rep.Events, "last_event_time": rep.LastEventTime.Format(time.RFC3339Nano),
			"checkpoint": covering, "checkpoint_size": coveringSize, "seconds": secs,
			"events_per_second": float64(rep.Events) / secs, "new_verifier": rep.NewVerifier,
		})
	}
	how := "matched the signed checkpoint at"
	if coveringSize != rep.Events {
		how = "proven by the signed checkpoint further on, at"
	}
	fmt.Fprintf(c.stdout, "restored %d events (last at %s) in %.1fs into %s\n%s %d events:\n%s\nnew node key: %s\nstart it with: kavach serve --data %s\n",
		rep.Events, rep.LastEventTime.Format(time.RFC3339), secs, final, how, coveringSize, covering, rep.NewVerifier, final)
	return nil
}

// downloadS3 fetches the vault's S3 copy into dir, laid out as a store.
func downloadS3(ctx context.Context, cfg vault.S3Config, dir string, stderr io.Writer, quiet bool) error {
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
	if err := s3.Download(ctx, dir); err != nil {
		return fmt.Errorf("restore: the S3 copy: %w", err)
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
