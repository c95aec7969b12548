package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"kavach/node"
)

const vaultsUsage = `Usage:
  kavach vaults add --data DIR --name NAME --key KEY [--json]
  kavach vaults list --data DIR [--json]
  kavach vaults remove --data DIR --name NAME [--json]

Manages, on a node, the backup vaults it believes. A vault reports what it
holds by sending the node's checkpoint with its own cosignature; the node
counts it (status page, /api/v1/status, the kavach_vault_* metrics) only from
a vault registered here by name and public cosigning key, and checks the
cosignature against that key. The replication token alone cannot make the
node say its data is backed up. Registering and removing are journaled. Works
while 'kavach serve' runs on DIR. (The vault itself runs with 'kavach vault'
on another host; its name and key are in 'kavach vault status --data
VAULT_DIR'.)

Flags:
  --data DIR    the node's data directory (default ./kavach-data)
  --name NAME   the vault's name (as it names itself: vault.HOSTNAME unless
                it was started with --name)
  --key KEY     the vault's public cosigning key (name+hash+key)
  --json        print one JSON object: list {"vaults":[{"name","key"}]},
                add {"registered":{"name","key"}}, remove {"removed":{"name"}}
`

type vaultsCmd struct {
	stdout, stderr io.Writer
}

func (c *vaultsCmd) run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprint(c.stderr, vaultsUsage)
		if len(args) == 0 {
			return &exitError{code: exitUsage}
		}
		return nil
	}
	sub := args[0]
	fs := newFlags("vaults "+sub, vaultsUsage, c.stderr)
	dir := fs.String("data", "./kavach-data", "")
	name := fs.String("name", "", "")
	key := fs.String("key", "", "")
	asJSON := fs.Bool("json", false, "")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	switch sub {
	case "add":
		if *name == "" || *key == "" {
			return usageErr("vaults add: --name and --key are required (both from 'kavach vault status' on the vault's host)")
		}
	case "remove":
		if *name == "" {
			return usageErr("vaults remove: --name is required")
		}
	case "list":
	default:
		return usageErr("vaults: unknown subcommand %q; use add, list or remove", sub)
	}
	h, err := openExisting(ctx, *dir)
	if err != nil {
		return err
	}
	defer h.Close()
	switch sub {
	case "add":
		if err := h.Node.RegisterVault(ctx, "admin", *name, *key); err != nil {
			return faultErr(err)
		}
		if *asJSON {
			return json.NewEncoder(c.stdout).Encode(map[string]any{"registered": node.RegisteredVault{Name: *name, Key: *key}})
		}
		fmt.Fprintf(c.stdout, "registered vault %s\n", *name)
	case "remove":
		if err := h.Node.RemoveVault(ctx, "admin", *name); err != nil {
			return faultErr(err)
		}
		if *asJSON {
			return json.NewEncoder(c.stdout).Encode(map[string]any{"removed": map[string]string{"name": *name}})
		}
		fmt.Fprintf(c.stdout, "removed vault %s\n", *name)
	case "list":
		vs, err := node.RegisteredVaults(ctx, h.Node.DB())
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(c.stdout).Encode(map[string]any{"vaults": vs})
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tKEY")
		for _, v := range vs {
			fmt.Fprintf(tw, "%s\t%s\n", v.Name, v.Key)
		}
		tw.Flush()
	}
	return nil
}
