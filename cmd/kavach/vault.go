package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
	"golang.org/x/mod/sumdb/note"

	"kavach/node"
	"kavach/replicate"
	"kavach/vault"
)

const vaultUsage = `Usage:
  kavach vault --data DIR --source URL --token-file FILE --recipient AGE_RECIPIENT
               [--recipient AGE_RECIPIENT …] [--source-key VERIFIER] [--name NAME]
               [--s3-endpoint HOST:PORT|URL --s3-bucket NAME --s3-access-key-file FILE
                --s3-secret-key-file FILE [--s3-region R] [--s3-retention 90d]
                [--s3-create-bucket]]
  kavach vault status --data DIR [--json]
  kavach vault scrub --data DIR [--json]
  kavach vault approve-key --data DIR [--origin XX] --key VERIFIER [--json]

Runs a backup vault in the foreground until SIGTERM or SIGINT (then exit 0). It
pulls the journal of the node at URL with a read-only replication token
('kavach token --scope replicate' on the node), checks every batch against the
node's signed checkpoint, encrypts it to the age recipients and stores it in
DIR/store. It accepts only an extension of the history it holds: a rollback or
rewrite of the node's journal is set aside in DIR/store/forks/, raised as an
alert, and stops all appending. The vault listens on no port, and never
deletes, overwrites or truncates what it stored.

Without --source-key it trusts the node key of the first checkpoint it sees,
records it in DIR/vault.json, and accepts no other until its administrator runs
'kavach vault approve-key'.

A central node holds its sites' journals (and a site the central's and the
other sites'): after each pull of the node's own journal the vault pulls each
of those too, into DIR/origins/XX/store, with the same checks against that
node's own signed checkpoints. It trusts the key the node names for each at
first sight (vault.json "origins") and accepts a new one only after
'kavach vault approve-key --origin XX'. A fork of one of them stops appending
to that one only.

Flags:
  --data DIR            the vault directory (made 0700 on the first start)
  --source URL          the node, e.g. https://his.hospital.local (required on the
                        first start; later the one in vault.json is the default)
  --token-file FILE     the replication token
  --recipient R         an age recipient (age1…) to encrypt to; repeat for more.
                        Keep the identities offline.
  --source-key KEY      the node's checkpoint key (name+hash+key), to pin it
                        instead of trusting the first checkpoint
  --name NAME           the vault's name in its cosignatures and on the node's
                        status page (first start only; default vault.HOSTNAME)
  --wait DURATION       how long one long poll waits at the node (default 25s)
  --scrub-every D       how often the vault re-verifies its own store (default
                        24h; 0 never)

S3 copy (optional; the first four go together):
  --s3-endpoint E       the S3 server: host:port (HTTPS), or http(s)://host:port
  --s3-bucket NAME      a bucket with Object Lock enabled, made by an administrator
  --s3-access-key-file F  the vault's own S3 access key, alone in the file
  --s3-secret-key-file F  its secret key, alone in the file
  --s3-region R         the bucket's region (default: ask the server)
  --s3-retention D      how long each object stays locked, in COMPLIANCE mode, after
                        its upload: 90d (days) or a duration like 2160h (default 90d).
                        Nobody can shorten it, not even the bucket's root account.
                        The running vault extends the lock of every object a
                        restore needs to this long from now whenever less than
                        half of it is left (it looks at the start and every
                        quarter of it, at most a day apart).
  --s3-create-bucket    create the bucket with Object Lock if it is missing (first
                        setup and tests; in production an administrator owns it)
  With them the vault uploads every segment, its manifest and its cosigned
  checkpoint after storing them, and at the start what the bucket lacks. It never
  deletes anything in S3. A bucket without Object Lock stops the vault at the
  start; S3 being down or refusing does not: 'kavach vault status' shows the s3
  block, with the alert s3-behind after a minute, s3-differs at once when the
  bucket holds other bytes under a name the vault writes, and s3-retention at
  once when the locks cannot be extended.

Subcommands:
  status       the vault's state: ok, lagging, fork-detected, source-unreachable
               or damaged; events held, lag, last checkpoint, alerts.
               Exit 1 when the state is not ok.
  scrub        re-verify every stored file without the decryption key; exit 1
               on faults. It may run beside the running vault.
  approve-key  trust the node's new key after a restore (check it with the
               node's administrator first); with --origin XX, the new key of
               node XX's journal that the node holds (a restored site's); a
               running vault takes it within seconds.

Exit status: 0 success, 1 a fault (status not ok, scrub faults), 2 bad usage
or an I/O error.
`

const vaultStatusUsage = `Usage: kavach vault status --data DIR [--json]

Prints the vault's state from DIR/status.json, which the vault process rewrites
after every pull: ok, lagging (more than 5 s behind the node), fork-detected,
source-unreachable (also when the vault process is not running) or damaged
(its files do not verify, or hold less than it confirmed to the node);
the events held, the lag in seconds, the last checkpoint and the alerts;
then each other node's journal the vault pulls through the node (a central's
sites'), with its events and state.

Exit status: 0 state ok, 1 any other state, 2 bad usage or no vault at DIR.

Flags:
  --data DIR   the vault directory
  --json       print one JSON object: {"state","events","lag_seconds",
               "last_checkpoint","alerts","cosigned_events","confirmed_events",…}
               (confirmed_events: the largest history the node accepted the
               vault's cosignature of; a store holding less is damaged); with
               an S3 copy also "s3":
               {"endpoint","bucket","region","retention","events_copied",
               "behind","last_error","retention_extended_at",
               "oldest_retain_until","objects_locked","retention_error",…}.
               The S3 alerts (s3-behind, s3-differs, s3-retention) are in
               "alerts" but leave the state as it is. With other nodes'
               journals, "origins": {"KB":{"state","events","source_events",
               "lag_seconds","key",…}}; an alert about one of them names it
               ("origin":"KB" in "alert_details"), and its state counts in
               the vault's.
`

const vaultScrubUsage = `Usage: kavach vault scrub --data DIR [--json]

Re-verifies every file in the vault's store without the decryption key: each
segment's SHA-256 and size, the leaf hashes against every checkpoint's root,
every checkpoint's signature by the node's trusted keys, the cosignatures, and
that nothing was added, renamed or removed. It also checks that the store holds
all the vault confirmed to the node (DIR/confirmed.json): deleting the newest
files, or the whole store, leaves a shorter history that is sound in itself,
and only that record shows what is missing. The store of each other node's
journal (DIR/origins/XX/store) is checked the same way, against the keys
vault.json trusts for that node. Each fault names its file. It may
run while the vault process runs: it checks the store as it is when the scrub
starts, and the vault goes on pulling meanwhile. The running vault also scrubs
itself (--scrub-every) and 'kavach vault status' shows the result.

Exit status: 0 no faults, 1 faults, 2 bad usage or no vault.

Flags:
  --data DIR   the vault directory
  --json       print one JSON object: {"ok","faults","events","segments",…}
`

const vaultApproveUsage = `Usage: kavach vault approve-key --data DIR [--origin XX] --key VERIFIER [--json]

Trusts the node's new checkpoint key (a restored node signs with a new key,
since the attacker may hold the old one). Before approving, get the key from
the node's administrator by phone or in person and compare it with the one in
the vault's key-changed alert: approving an attacker's key lets the attacker
extend the backup. The approval is recorded in DIR/vault.json; a running vault
takes it within seconds, one that is stopped at its next start. Keys only move
forward: the old key is not accepted again.

With --origin XX it trusts the new key of node XX's journal, which the vault
pulls through the node (a site restored after an attack, when the vault pulls
the central): get it from node XX's administrator ("verifier" in its
GET /api/v1/status) and compare it with the key in the key-changed alert
that names XX.

Flags:
  --data DIR      the vault directory
  --origin XX     the node whose journal it is, when not the vault's own node
  --key VERIFIER  the node's new key, name+hash+key (kavach/KVH/KA+1a2b3c4d+A…)
  --json          print one JSON object
`

type vaultCmd struct {
	stdout, stderr io.Writer
}

// recipientFlags collects repeated --recipient flags.
type recipientFlags []string

func (r *recipientFlags) String() string     { return strings.Join(*r, ",") }
func (r *recipientFlags) Set(v string) error { *r = append(*r, v); return nil }

func (c *vaultCmd) run(ctx context.Context, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "status":
			return c.status(args[1:])
		case "scrub":
			return c.scrub(args[1:])
		case "approve-key":
			return c.approveKey(args[1:])
		case "help":
			fmt.Fprint(c.stdout, vaultUsage)
			return nil
		}
		if !strings.HasPrefix(args[0], "-") {
			return usageErr("vault: unknown subcommand %q; try status, scrub or approve-key, or see kavach vault --help", args[0])
		}
	}
	fs := newFlags("vault", vaultUsage, c.stderr)
	dir := fs.String("data", "", "")
	source := fs.String("source", "", "")
	tokenFile := fs.String("token-file", "", "")
	var recipients recipientFlags
	fs.Var(&recipients, "recipient", "")
	sourceKey := fs.String("source-key", "", "")
	name := fs.String("name", "", "")
	wait := fs.Duration("wait", 25*time.Second, "")
	scrubEvery := fs.Duration("scrub-every", 24*time.Hour, "")
	var s3f s3Flags
	s3f.register(fs, true)
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *dir == "":
		return usageErr("vault: --data DIR is required: the vault's directory (see kavach vault --help)")
	case *tokenFile == "":
		return usageErr("vault: --token-file is required: make a token on the node with 'kavach token --data DIR --scope replicate'")
	case len(recipients) == 0:
		return usageErr("vault: at least one --recipient age1… is required: the vault stores only encrypted events (make one with age-keygen, offline)")
	case *wait <= 0 || *wait > 60*time.Second:
		return usageErr("vault: --wait must be between 1s and 60s")
	case *scrubEvery < 0:
		return usageErr("vault: --scrub-every must be a duration like 24h, or 0 for never")
	}
	var rcpts []age.Recipient
	for _, r := range recipients {
		rs, err := age.ParseRecipients(strings.NewReader(r))
		if err != nil || len(rs) == 0 {
			return usageErr("vault: --recipient %q is not an age recipient (age1…): %v", r, err)
		}
		rcpts = append(rcpts, rs...)
	}
	if *sourceKey != "" {
		if err := checkVerifier(*sourceKey); err != nil {
			return usageErr("vault: --source-key: %v; give the node's key as name+hash+key (GET /api/v1/status shows it as \"verifier\")", err)
		}
	}
	if *source != "" {
		if err := checkSourceURL(*source); err != nil {
			return usageErr("vault: --source %q: %v; give the node's URL, e.g. https://his.hospital.local", *source, err)
		}
	}
	s3cfg, err := s3f.config("vault", fs)
	if err != nil {
		return err
	}
	tok, err := os.ReadFile(*tokenFile)
	if err != nil {
		return fmt.Errorf("vault: token: %w", err)
	}
	token := strings.TrimSpace(string(tok))
	if token == "" {
		return usageErr("vault: %s is empty; put the token from 'kavach token --scope replicate' in it", *tokenFile)
	}
	if _, err := os.Stat(node.DBPath(*dir)); err == nil {
		return usageErr("vault: %s is a node's data directory (it holds kavach.db): give the vault a directory of its own, on another host", *dir)
	}

	if _, err := vault.LoadConfig(*dir); errors.Is(err, os.ErrNotExist) {
		// A first start makes the vault's files in dir: refuse a directory
		// that holds something else, rather than mix a vault into it.
		if entries, err := os.ReadDir(*dir); err == nil && len(entries) > 0 {
			return usageErr("vault: %s is not empty and holds no vault (no vault.json): give a new vault an empty directory of its own", *dir)
		}
		if *source == "" {
			return usageErr("vault: --source URL is required on the first start")
		}
		if *name == "" {
			*name = defaultVaultName()
		}
		if err := vault.CheckName(*name); err != nil {
			return usageErr("vault: --name: %v", err)
		}
	}
	cfg, err := vault.Setup(*dir, vault.Config{Name: *name, Source: *source, SourceKey: *sourceKey})
	if err != nil {
		return err
	}
	log := slog.Default()
	if *source == "" {
		*source = cfg.Source
	} else if *source != cfg.Source {
		log.Warn("vault: pulling from another URL than at the first start (vault.json keeps the first)", "source", *source, "first", cfg.Source)
	}
	if u, _ := url.Parse(*source); u.Scheme == "http" && !isLoopback(u.Hostname()) {
		log.Warn("vault: the token travels in the clear over http; put the node behind https")
	}

	p := &vault.Puller{
		Dir:            *dir,
		Source:         &replicate.Client{URL: *source, Token: token, HTTP: &http.Client{Timeout: *wait + 30*time.Second}},
		Recipients:     rcpts,
		Wait:           *wait,
		ScrubEvery:     *scrubEvery,
		Log:            log,
		S3:             s3cfg,
		S3CreateBucket: s3f.create,
	}
	fmt.Fprintf(c.stdout, "vault %s pulling from %s into %s\n", cfg.Name, *source, *dir)
	if s3cfg != nil {
		if s3cfg.Retention < 7*24*time.Hour {
			log.Warn("vault: s3: a retention shorter than a week may end before an attack is noticed", "retention", s3f.retention)
		}
		fmt.Fprintf(c.stdout, "copying to the S3 bucket %s at %s, each object locked for %s\n", s3cfg.Bucket, s3cfg.Endpoint, s3f.retention)
	}
	return p.Run(ctx)
}

func (c *vaultCmd) status(args []string) error {
	fs := newFlags("vault status", vaultStatusUsage, c.stderr)
	dir := fs.String("data", "", "")
	asJSON := fs.Bool("json", false, "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return usageErr("vault status: --data DIR is required (see kavach vault status --help)")
	}
	cfg, err := vault.LoadConfig(*dir)
	if errors.Is(err, os.ErrNotExist) {
		return usageErr("vault status: %s is not a vault directory (no vault.json)", *dir)
	}
	if err != nil {
		return err
	}
	st, err := vault.ReadStatus(*dir)
	if errors.Is(err, os.ErrNotExist) {
		st = vault.Status{Name: cfg.Name, Source: cfg.Source} // never ran: At says so
	} else if err != nil {
		return err
	}
	st.CosignKey = cfg.CosignKey
	st = st.At(time.Now().UTC())
	if *asJSON {
		if err := json.NewEncoder(c.stdout).Encode(st); err != nil {
			return err
		}
	} else {
		w := c.stdout
		fmt.Fprintf(w, "vault %s: %s\n", st.Name, st.State)
		running := "running"
		if !st.VaultRunning {
			running = "NOT RUNNING"
		}
		fmt.Fprintf(w, "  process:     %s (status written %s)\n", running, ago(st.UpdatedAt))
		fmt.Fprintf(w, "  source:      %s (%d events synced at its last answer)\n", st.Source, st.SourceEvents)
		fmt.Fprintf(w, "  cosign key:  %s (register it on the node: kavach vaults add --name %s --key …)\n", st.CosignKey, st.Name)
		fmt.Fprintf(w, "  events:      %d held, %d cosigned, %d confirmed to the node\n", st.Events, st.CosignedEvents, st.ConfirmedEvents)
		fmt.Fprintf(w, "  lag:         %.1f s\n", st.LagSeconds)
		if cp := firstLines(st.LastCheckpoint, 3); cp != "" {
			fmt.Fprintf(w, "  checkpoint:  %s\n", cp)
		}
		if st.Scrub != nil {
			res := "ok"
			if !st.Scrub.OK {
				res = fmt.Sprintf("%d FAULTS", len(st.Scrub.Faults))
			}
			fmt.Fprintf(w, "  last scrub:  %s, %s\n", st.Scrub.Time.Format(time.RFC3339), res)
		}
		if st.LastError != "" {
			fmt.Fprintf(w, "  last error:  %s\n", st.LastError)
		}
		if s := st.S3; s != nil {
			behind := ""
			if s.Behind {
				behind = fmt.Sprintf(", BEHIND since %s", s.BehindSince.Format(time.RFC3339))
			}
			fmt.Fprintf(w, "  s3:          %d of %d events in the bucket %s at %s (locked %s)%s\n", s.EventsCopied, st.Events, s.Bucket, s.Endpoint, s.Retention, behind)
			if !s.RetentionExtendedAt.IsZero() {
				fmt.Fprintf(w, "  s3 locks:    %d objects, the earliest lock ends %s (checked %s)\n", s.ObjectsLocked, s.OldestRetainUntil.Format(time.RFC3339), ago(s.RetentionExtendedAt))
			}
			if s.LastError != "" {
				fmt.Fprintf(w, "  s3 error:    %s\n", s.LastError)
			}
			if s.RetentionError != "" {
				fmt.Fprintf(w, "  s3 locks error: %s\n", s.RetentionError)
			}
		}
		for _, code := range slices.Sorted(maps.Keys(st.Origins)) {
			o := st.Origins[code]
			s3 := ""
			if st.S3 != nil {
				s3 = fmt.Sprintf(", %d in S3", o.S3EventsCopied)
			}
			fmt.Fprintf(w, "  origin %s:   %s: %d events held of %d at the node's last answer%s, lag %.1f s\n", code, o.State, o.Events, o.SourceEvents, s3, o.LagSeconds)
		}
		for _, a := range st.AlertDetails {
			if a.Origin != "" {
				fmt.Fprintf(w, "ALERT %s, origin %s (%s): %s\n", a.Kind, a.Origin, a.Time.Format(time.RFC3339), a.Message)
				if a.Quarantine != "" {
					fmt.Fprintf(w, "      set aside in %s\n", filepath.Join(*dir, a.Quarantine))
				}
				continue
			}
			fmt.Fprintf(w, "ALERT %s (%s): %s\n", a.Kind, a.Time.Format(time.RFC3339), a.Message)
			if a.Quarantine != "" {
				fmt.Fprintf(w, "      set aside in %s\n", filepath.Join(*dir, a.Quarantine))
			}
		}
	}
	if st.State != vault.StateOK {
		return &exitError{code: exitFault}
	}
	return nil
}

func (c *vaultCmd) scrub(args []string) error {
	fs := newFlags("vault scrub", vaultScrubUsage, c.stderr)
	dir := fs.String("data", "", "")
	asJSON := fs.Bool("json", false, "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return usageErr("vault scrub: --data DIR is required (see kavach vault scrub --help)")
	}
	cfg, err := vault.LoadConfig(*dir)
	if errors.Is(err, os.ErrNotExist) {
		return usageErr("vault scrub: %s is not a vault directory (no vault.json)", *dir)
	}
	if err != nil {
		return err
	}
	v, older, err := cfg.Verifiers()
	if err != nil {
		return err
	}
	start := time.Now()
	// What the vault confirmed to the node, read before the snapshot: the
	// vault process may be running and appending, and a record read after
	// could count events the snapshot does not hold.
	conf, confErr := vault.ReadConfirmed(*dir)
	store, err := vault.OpenSnapshot(vault.StoreDir(*dir))
	var damage *vault.DamageError
	var rep vault.Report
	switch {
	case errors.Is(err, os.ErrNotExist) && (conf.Events > 0 || confErr != nil):
		// The whole store deleted: a fault, and how much it held.
		rep.Faults = []string{"store/: missing (deleted?)"}
		if conf.Events > 0 {
			rep.Faults = append(rep.Faults, fmt.Sprintf("events 0..%d are missing: the vault confirmed %d events to the node", conf.Events-1, conf.Events))
		}
	case err != nil && !errors.As(err, &damage):
		return fmt.Errorf("vault scrub: %w", err)
	default:
		defer store.Close()
		rep = store.Scrub(cfg.Origin, v, older...)
		if f := conf.Check(store); f != "" {
			rep.Faults = append(rep.Faults, f)
		}
	}
	if confErr != nil {
		rep.Faults = append(rep.Faults, confErr.Error())
	}
	origins, err := scrubOrigins(*dir, cfg)
	if err != nil {
		return fmt.Errorf("vault scrub: %w", err)
	}
	for _, o := range origins {
		rep.Faults = append(rep.Faults, o.faults...)
	}
	rep.OK = len(rep.Faults) == 0
	if rep.Faults == nil {
		rep.Faults = []string{}
	}
	forks := forksIn(*dir, vault.StoreDir(*dir))
	for _, o := range origins {
		forks = append(forks, forksIn(*dir, vault.OriginStoreDir(*dir, o.code))...)
	}
	if *asJSON {
		out := map[string]any{"ok": rep.OK, "faults": rep.Faults, "events": rep.Events, "segments": rep.Segments,
			"forks": len(forks), "seconds": time.Since(start).Seconds()}
		if len(origins) > 0 {
			om := map[string]any{}
			for _, o := range origins {
				om[o.code] = map[string]any{"events": o.rep.Events, "segments": o.rep.Segments, "ok": len(o.faults) == 0}
			}
			out["origins"] = om
		}
		if err := json.NewEncoder(c.stdout).Encode(out); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(c.stdout, "events: %d in %d segments\n", rep.Events, rep.Segments)
		for _, o := range origins {
			fmt.Fprintf(c.stdout, "origin %s: %d events in %d segments\n", o.code, o.rep.Events, o.rep.Segments)
		}
		for _, f := range forks {
			fmt.Fprintf(c.stdout, "set aside: %s\n", f)
		}
		printFaults(c.stdout, rep.OK, rep.Faults)
	}
	return faultExit(rep.OK)
}

// originScrub is the scrub of the store of another node's journal.
type originScrub struct {
	code   string
	rep    vault.Report
	faults []string // rep's, each naming the store
}

// scrubOrigins scrubs the store of every other node's journal in the vault
// directory dir, with the keys vault.json trusts for each.
func scrubOrigins(dir string, cfg *vault.Config) ([]originScrub, error) {
	codes, err := vault.OriginCodes(dir)
	if err != nil {
		return nil, err
	}
	var out []originScrub
	for _, code := range codes {
		o := originScrub{code: code}
		name := filepath.Join("origins", code, "store")
		v, older, err := cfg.OriginVerifiers(code)
		if err != nil {
			return nil, err
		}
		store, err := vault.OpenSnapshot(vault.OriginStoreDir(dir, code))
		var damage *vault.DamageError
		if err != nil && !errors.As(err, &damage) {
			return nil, err
		}
		log := ""
		if t := cfg.Origins[code]; t != nil {
			log = t.Origin
		}
		o.rep = store.Scrub(log, v, older...)
		store.Close()
		if o.rep.Events > 0 && len(cfg.OriginKeys(code)) == 0 {
			o.rep.Faults = append(o.rep.Faults, "vault.json trusts no key of node "+code+"'s journal (replaced?)")
		}
		for _, f := range o.rep.Faults {
			o.faults = append(o.faults, name+": "+f)
		}
		out = append(out, o)
	}
	return out, nil
}

// forksIn lists what a store set aside, relative to the vault directory.
func forksIn(dir, store string) []string {
	var out []string
	entries, _ := os.ReadDir(filepath.Join(store, "forks"))
	for _, e := range entries {
		rel, err := filepath.Rel(dir, filepath.Join(store, "forks", e.Name()))
		if err != nil {
			rel = filepath.Join(store, "forks", e.Name())
		}
		out = append(out, rel)
	}
	return out
}

func (c *vaultCmd) approveKey(args []string) error {
	fs := newFlags("vault approve-key", vaultApproveUsage, c.stderr)
	dir := fs.String("data", "", "")
	origin := fs.String("origin", "", "")
	key := fs.String("key", "", "")
	asJSON := fs.Bool("json", false, "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" || *key == "" {
		return usageErr("vault approve-key: --data DIR and --key VERIFIER are required (see kavach vault approve-key --help)")
	}
	if err := checkVerifier(*key); err != nil {
		return usageErr("vault approve-key: --key: %v; give the node's key as name+hash+key", err)
	}
	if _, err := vault.LoadConfig(*dir); errors.Is(err, os.ErrNotExist) {
		return usageErr("vault approve-key: %s is not a vault directory (no vault.json)", *dir)
	}
	var cfg *vault.Config
	var err error
	if *origin != "" {
		*origin = strings.ToUpper(strings.TrimSpace(*origin))
		cfg, err = vault.ApproveOriginKey(*dir, *origin, *key)
	} else {
		cfg, err = vault.ApproveSourceKey(*dir, *key)
	}
	already := errors.Is(err, vault.ErrKeyTrusted)
	if err != nil && !already {
		return err
	}
	if *asJSON {
		out := map[string]any{"ok": true, "approved_key": *key, "already_trusted": already, "node_keys": cfg.NodeKeys()}
		if *origin != "" {
			out = map[string]any{"ok": true, "origin": *origin, "approved_key": *key, "already_trusted": already, "origin_keys": cfg.OriginKeys(*origin)}
		}
		return json.NewEncoder(c.stdout).Encode(out)
	}
	if already {
		fmt.Fprintf(c.stdout, "the vault trusts %s already\n", *key)
		return nil
	}
	if *origin != "" {
		fmt.Fprintf(c.stdout, "approved %s for node %s's journal\nA running vault takes it within seconds; a stopped one at its next start.\n", *key, *origin)
		return nil
	}
	fmt.Fprintf(c.stdout, "approved %s\nA running vault takes it within seconds; a stopped one at its next start.\n", *key)
	return nil
}

func checkVerifier(k string) error {
	_, err := note.NewVerifier(k)
	return err
}

func checkSourceURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("not an http(s) URL")
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func defaultVaultName() string {
	h, err := os.Hostname()
	if err != nil || vault.CheckName("vault."+h) != nil {
		return "vault"
	}
	return "vault." + h
}

// ago says how long ago t was.
func ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return time.Since(t).Round(time.Second).String() + " ago"
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], " / ")
}

// s3Flags are the --s3-* flags of kavach vault and kavach restore.
type s3Flags struct {
	endpoint, bucket, region, accessKeyFile, secretKeyFile, retention string
	create                                                            bool
}

const defaultS3Retention = "90d"

// register adds the flags to fs; --s3-create-bucket only for the vault.
func (f *s3Flags) register(fs *flag.FlagSet, vault bool) {
	fs.StringVar(&f.endpoint, "s3-endpoint", "", "")
	fs.StringVar(&f.bucket, "s3-bucket", "", "")
	fs.StringVar(&f.region, "s3-region", "", "")
	fs.StringVar(&f.accessKeyFile, "s3-access-key-file", "", "")
	fs.StringVar(&f.secretKeyFile, "s3-secret-key-file", "", "")
	fs.StringVar(&f.retention, "s3-retention", defaultS3Retention, "")
	if vault {
		fs.BoolVar(&f.create, "s3-create-bucket", false, "")
	}
}

// given lists the --s3-* flags set on the command line.
func (f *s3Flags) given(fs *flag.FlagSet) []string {
	var set []string
	fs.Visit(func(fl *flag.Flag) {
		if strings.HasPrefix(fl.Name, "s3-") {
			set = append(set, "--"+fl.Name)
		}
	})
	return set
}

// config returns the S3 copy's settings, with the keys read from their
// files, or nil when no --s3-* flag is set. The endpoint, the bucket and the
// two key files go together; a usage error names what is missing.
func (f *s3Flags) config(cmd string, fs *flag.FlagSet) (*vault.S3Config, error) {
	if len(f.given(fs)) == 0 {
		return nil, nil
	}
	var missing []string
	for _, r := range []struct{ name, v string }{
		{"--s3-endpoint", f.endpoint}, {"--s3-bucket", f.bucket},
		{"--s3-access-key-file", f.accessKeyFile}, {"--s3-secret-key-file", f.secretKeyFile},
	} {
		if r.v == "" {
			missing = append(missing, r.name)
		}
	}
	if len(missing) > 0 {
		return nil, usageErr("%s: the S3 copy needs --s3-endpoint, --s3-bucket, --s3-access-key-file and --s3-secret-key-file together; missing: %s", cmd, strings.Join(missing, ", "))
	}
	if err := checkS3Endpoint(f.endpoint); err != nil {
		return nil, usageErr("%s: --s3-endpoint %q: %v", cmd, f.endpoint, err)
	}
	retention, err := parseRetention(f.retention)
	if err != nil {
		return nil, usageErr("%s: --s3-retention %q: %v", cmd, f.retention, err)
	}
	access, err := readKeyFile(cmd, "--s3-access-key-file", f.accessKeyFile)
	if err != nil {
		return nil, err
	}
	secret, err := readKeyFile(cmd, "--s3-secret-key-file", f.secretKeyFile)
	if err != nil {
		return nil, err
	}
	// A bare host:port is HTTPS; plain HTTP only when asked for by name.
	return &vault.S3Config{Endpoint: f.endpoint, Bucket: f.bucket, Region: f.region, Secure: !strings.Contains(f.endpoint, "://"),
		AccessKey: access, SecretKey: secret, Retention: retention}, nil
}

func readKeyFile(cmd, flagName, path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %s: %w", cmd, flagName, err)
	}
	key := strings.TrimSpace(string(data))
	if key == "" || strings.ContainsAny(key, " \t\r\n") {
		return "", usageErr("%s: %s: %s must hold the key alone", cmd, flagName, path)
	}
	return key, nil
}

// checkS3Endpoint accepts host, host:port, or an http(s) URL with no path.
func checkS3Endpoint(e string) error {
	if strings.Contains(e, "://") {
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.User != nil {
			return errors.New("give host:port, or http(s)://host:port with no path")
		}
		return nil
	}
	if e == "" || strings.ContainsAny(e, "/?#@ ") {
		return errors.New("give host:port, or http(s)://host:port with no path")
	}
	return nil
}

// parseRetention reads a retention: whole days as "90d", or a Go duration
// as "2160h". It is at least a second and at most 100 years.
func parseRetention(s string) (time.Duration, error) {
	const day, most = 24 * time.Hour, 36500
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseUint(n, 10, 32)
		if err != nil || days == 0 || days > most {
			return 0, fmt.Errorf("give whole days from 1 to %d, like 90d, or a duration like 2160h", most)
		}
		d = time.Duration(days) * day
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, errors.New("give whole days, like 90d, or a duration like 2160h")
		}
	}
	if d < time.Second || d > most*day {
		return 0, fmt.Errorf("it must be from 1s to %d days", most)
	}
	return d, nil
}
