package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	kavacherr "kavach"
	"kavach/node"
)

const tokenUsage = `Usage:
  kavach token --data DIR --scope replicate [--name NAME] [--expires 365d] [--json]
  kavach token list --data DIR [--json]
  kavach token revoke --data DIR --id ID|NAME [--json]

Makes, lists and revokes the node's read-only replication tokens, with which
a vault (or a replica) pulls the journal. A new token is printed alone on
stdout, or as {"token":"…"} with --json; only its hash is stored. A token
reads the whole journal, in the clear (every patient's record, every read of
one, users' password hashes), so give each vault its own, named for it, and
revoke one that may have leaked: the vault holding it is refused at its next
pull. Works while 'kavach serve' runs on DIR.

Flags:
  --data DIR       the node's data directory (default ./kavach-data)
  --scope replicate  the only scope there is (required, for new tokens)
  --name NAME      who holds the token (default "replicate"), shown by list
  --expires D      how long the token is good for: whole days as 365d, or a
                   duration like 720h (default: until revoked)
  --id ID|NAME     revoke: the token's id as list shows it, or its name
  --json           print one JSON object
`

type tokenCmd struct {
	stdout, stderr io.Writer
}

func (c *tokenCmd) run(ctx context.Context, args []string) error {
	sub := "new"
	if len(args) > 0 && (args[0] == "list" || args[0] == "revoke") {
		sub, args = args[0], args[1:]
	}
	fs := newFlags("token", tokenUsage, c.stderr)
	dir := fs.String("data", "./kavach-data", "")
	scope := fs.String("scope", "", "")
	name := fs.String("name", "replicate", "")
	expires := fs.String("expires", "", "")
	id := fs.String("id", "", "")
	asJSON := fs.Bool("json", false, "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := notVaultDir(*dir); err != nil {
		return err
	}
	switch sub {
	case "list":
		db, err := node.OpenDB(node.DBPath(*dir))
		if err != nil {
			return fmt.Errorf("no Kavach node in %s: %w", *dir, err)
		}
		defer db.Close()
		ts, err := node.ReplicationTokens(ctx, db)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(c.stdout).Encode(map[string]any{"tokens": ts})
		}
		now := time.Now()
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tCREATED\tEXPIRES\tSTATE")
		for _, t := range ts {
			exp, state := "never", "live"
			if !t.Expires.IsZero() {
				exp = t.Expires.Format(time.DateOnly)
			}
			switch {
			case !t.Revoked.IsZero():
				state = "revoked " + t.Revoked.Format(time.DateOnly)
			case !t.Live(now):
				state = "expired"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Created.Format(time.DateOnly), exp, state)
		}
		return tw.Flush()
	case "revoke":
		if *id == "" {
			return usageErr("token revoke: --id is required: the token's id as 'kavach token list' shows it, or its name")
		}
		t, err := node.RevokeToken(ctx, *dir, *id)
		if code := kavacherr.ErrorCode(err); code == kavacherr.EINVALID || code == kavacherr.ENOTFOUND {
			return faultErr(err)
		}
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(c.stdout).Encode(map[string]any{"revoked": t})
		}
		fmt.Fprintf(c.stdout, "revoked token %s (%s)\n", t.ID, t.Name)
		return nil
	}
	switch *scope {
	case "replicate":
	case "":
		return usageErr("token: --scope is required: --scope replicate")
	default:
		return usageErr("token: unknown scope %q; the only scope is replicate", *scope)
	}
	var ttl time.Duration
	if *expires != "" {
		d, err := parseRetention(*expires)
		if err != nil {
			return usageErr("token: --expires: %v", err)
		}
		ttl = d
	}
	tok, err := node.NewReplicationToken(ctx, *dir, *name, ttl)
	if kavacherr.ErrorCode(err) == kavacherr.EINVALID {
		return faultErr(err)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(c.stdout).Encode(map[string]string{"token": tok})
	}
	fmt.Fprintln(c.stdout, tok)
	return nil
}
