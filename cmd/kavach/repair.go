package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"kavach/hospital"
	"kavach/node"
)

const repairUsage = `Usage: kavach repair --data DIR --reason TEXT [--dry-run] [--json]

Clears the verify fault that builds before this one could leave: a form's
text that was not UTF-8 is U+FFFD in the journal, but its bytes were stored
in the tables, so verify reports the row as changed. repair finds every cell
that holds such bytes where the journal holds exactly them with U+FFFD, and
journals one node.repaired event, with the reason, that sets each to what the
journal says. Nothing else is touched: any other difference is reported and
left for verify to go on naming. Works while kavach serve runs on DIR.

Exit status: 0 repaired (or nothing to repair), 1 a difference that repair
does not clear remains, 2 bad usage or I/O error.

Flags:
  --data DIR     data directory (default ./kavach-data)
  --reason TEXT  why, for the journal (required unless --dry-run)
  --dry-run      list what would be repaired, journal nothing
  --json         print one JSON object: {"ok","dry_run","repaired":[{"table",
                 "column","key_hex","was_hex"}],"faults":[…]}
`

type repairCmd struct {
	stdout, stderr io.Writer
}

func (c *repairCmd) run(ctx context.Context, args []string) error {
	fs := newFlags("repair", repairUsage, c.stderr)
	dir := fs.String("data", "./kavach-data", "")
	reason := fs.String("reason", "", "")
	dry := fs.Bool("dry-run", false, "")
	asJSON := fs.Bool("json", false, "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *reason == "" && !*dry {
		return usageErr("repair: --reason is required: say why, for the journal (or look first with --dry-run)")
	}
	if err := notVaultDir(*dir); err != nil {
		return err
	}
	cells, faults, err := node.TextRepairs(ctx, *dir, hospital.Services())
	if err != nil {
		return err
	}
	if len(cells) > 0 && !*dry {
		h, err := openExisting(ctx, *dir)
		if err != nil {
			return err
		}
		err = h.Node.Repair(ctx, "admin", *reason, cells)
		if cerr := h.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("repair: %w", err)
		}
	}
	type cell struct {
		Table  string            `json:"table"`
		Column string            `json:"column"`
		Key    map[string]string `json:"key_hex"`
		Was    string            `json:"was_hex"`
	}
	out := struct {
		OK       bool     `json:"ok"`
		DryRun   bool     `json:"dry_run"`
		Repaired []cell   `json:"repaired"`
		Faults   []string `json:"faults"`
	}{OK: len(faults) == 0, DryRun: *dry, Repaired: []cell{}, Faults: faults}
	if out.Faults == nil {
		out.Faults = []string{}
	}
	for _, x := range cells {
		out.Repaired = append(out.Repaired, cell{x.Table, x.Column, x.KeyHex, x.WasHex})
	}
	if *asJSON {
		if err := json.NewEncoder(c.stdout).Encode(out); err != nil {
			return err
		}
	} else {
		verb := "repaired"
		if *dry {
			verb = "would repair"
		}
		for _, x := range cells {
			fmt.Fprintf(c.stdout, "%s: %s\n", verb, x)
		}
		if len(cells) == 0 {
			fmt.Fprintln(c.stdout, "nothing to repair")
		}
		printFaults(c.stdout, out.OK, faults)
	}
	return faultExit(out.OK)
}
