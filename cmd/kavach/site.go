package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"kavach/node"
)

const siteUsage = `Usage:
  kavach site add --data CENTRAL_DIR --name NAME --code XX [--expires 24h] [--json]
  kavach site list --data DIR [--json]
  kavach site approve-key --data DIR --origin XX --key VERIFIER [--json]

add registers a site node on the central node: its two-letter code XX, the
namespace of every identifier it issues (UHIDs XX…, visits XXV…, its own block
of OPD tokens), and its name; it prints a one-time enrolment token alone on
stdout (or {"token":"…"} with --json). Start the site with the token in a file:
  kavach serve --data SITE_DIR --upstream https://CENTRAL --enroll-token FILE
The token works once, within --expires.

list shows the sites (on the central) or this node's central (on a site), with
the other nodes' journals the node holds.

approve-key trusts another node's new signing key: a node restored after an
attack signs with a new key, and this node takes its events again only once
its own administrator approved the key. Check the key with that node's
administrator first (GET /api/v1/status shows it as "verifier"); the approval
is journaled. All three work while 'kavach serve' runs on DIR.

Flags:
  --data DIR         the node's data directory (default ./kavach-data)
  --name NAME        the site's name, e.g. "OPD counter 3" (add)
  --code XX          the site's code: two letters other than I and O (add)
  --expires D        how long the enrolment token is good for (add; default 24h)
  --origin XX        the node whose key it is (approve-key)
  --key VERIFIER     its new key, name+hash+key (approve-key)
  --json             print one JSON object
`

type siteCmd struct {
	stdout, stderr io.Writer
}

func (c *siteCmd) run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprint(c.stderr, siteUsage)
		if len(args) == 0 {
			return &exitError{code: exitUsage}
		}
		return nil
	}
	sub, args := args[0], args[1:]
	fs := newFlags("site "+sub, siteUsage, c.stderr)
	dir := fs.String("data", "./kavach-data", "")
	name := fs.String("name", "", "")
	code := fs.String("code", "", "")
	expires := fs.String("expires", "24h", "")
	origin := fs.String("origin", "", "")
	key := fs.String("key", "", "")
	asJSON := fs.Bool("json", false, "")
	if err := parse(fs, args); err != nil {
		return err
	}
	var ttl time.Duration
	switch sub {
	case "add":
		if *code == "" || *name == "" {
			return usageErr("site add: --code XX and --name NAME are required")
		}
		var err error
		if ttl, err = parseRetention(*expires); err != nil || ttl <= 0 {
			return usageErr("site add: --expires %q: give a duration such as 24h or 2d", *expires)
		}
	case "approve-key":
		if *origin == "" || *key == "" {
			return usageErr("site approve-key: --origin XX and --key VERIFIER are required")
		}
	case "list":
	default:
		return usageErr("site: unknown subcommand %q; use add, list or approve-key (see kavach site --help)", sub)
	}
	h, err := openExisting(ctx, *dir)
	if err != nil {
		return err
	}
	defer h.Close()
	n := h.Node
	switch sub {
	case "add":
		tok, err := n.AddSite(ctx, "admin", *code, *name, ttl)
		if err != nil {
			return faultErr(err)
		}
		if *asJSON {
			return json.NewEncoder(c.stdout).Encode(map[string]string{"token": tok})
		}
		fmt.Fprintln(c.stdout, tok)
		return nil
	case "approve-key":
		if err := n.ApproveKey(ctx, "admin", *origin, *key, ""); err != nil {
			return faultErr(err)
		}
		if *asJSON {
			return json.NewEncoder(c.stdout).Encode(map[string]any{"ok": true, "origin": *origin, "key": *key})
		}
		fmt.Fprintf(c.stdout, "trusting %s's key %s\n", *origin, *key)
		return nil
	}
	sites, err := node.Sites(ctx, n.DB())
	if err != nil {
		return err
	}
	up, err := n.Upstream(ctx)
	if err != nil {
		return err
	}
	reps, err := n.Replicas(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		out := map[string]any{"node": n.Info().NodeCode, "sites": sites, "replicas": reps}
		if up != nil {
			out["central"] = up.Central
			out["upstream"] = up.URL
		}
		return json.NewEncoder(c.stdout).Encode(out)
	}
	if up != nil {
		fmt.Fprintf(c.stdout, "site %s of central %s at %s\n\n", n.Info().NodeCode, up.Central, up.URL)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SITE\tNAME\tTOKENS\tENROLLED")
	for _, s := range sites {
		enrolled := "not yet"
		if !s.Enrolled.IsZero() {
			enrolled = s.Enrolled.Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s-1…\t%s\n", s.Code, s.Name, s.Code, enrolled)
	}
	tw.Flush()
	if len(reps) > 0 {
		fmt.Fprintln(c.stdout)
		tw = tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "JOURNAL\tHELD\tAPPLIED\tKEY")
		for _, r := range reps {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", r.Origin, r.Size, r.Applied, r.Verifier)
		}
		tw.Flush()
	}
	return nil
}
