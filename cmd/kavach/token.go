package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"kavach/node"
)

const tokenUsage = `Usage: kavach token --data DIR --scope replicate [--json]

Prints a new read-only replication token for a vault or a replica: the token
alone on stdout, or {"token":"…"} with --json. Only its hash is stored. Works
while 'kavach serve' runs on DIR.
`

type tokenCmd struct {
	stdout, stderr io.Writer
}

func (c *tokenCmd) run(ctx context.Context, args []string) error {
	fs := newFlags("token", tokenUsage, c.stderr)
	dir := fs.String("data", "./kavach-data", "")
	scope := fs.String("scope", "", "")
	asJSON := fs.Bool("json", false, "")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch *scope {
	case "replicate":
	case "":
		return usageErr("token: --scope is required: --scope replicate")
	default:
		return usageErr("token: unknown scope %q; the only scope is replicate", *scope)
	}
	if err := notVaultDir(*dir); err != nil {
		return err
	}
	tok, err := node.NewReplicationToken(ctx, *dir)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(c.stdout).Encode(map[string]string{"token": tok})
	}
	fmt.Fprintln(c.stdout, tok)
	return nil
}
