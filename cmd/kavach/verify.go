package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"kavach/hospital"
	"kavach/node"
)

const verifyUsage = `Usage: kavach verify [--data DIR] [--json] [--tree-only]

Checks the node's journal: every event against the Merkle tree, every
checkpoint's signature and root, the stored tree nodes, and that the
projections (patients, visits, users, …) equal a replay of the journal into a
scratch database. Names the first faulty event, tile or row. Reads one
snapshot, so it is safe while serving. After an upgrade, start kavach serve
once first: a database the new migrations have not run on is refused.

Exit status: 0 all good, 1 a fault was found, 2 bad usage or I/O error.

Flags:
  --data DIR     data directory (default ./kavach-data)
  --json         print one JSON object: {"ok","events","root","faults",…}
  --tree-only    only the Merkle tree, the stored tree nodes and the checkpoint
                 signatures, from the leaf tiles (fast); the full check also
                 re-hashes every event's bytes and replays them
  --scratch DIR  where the replay's scratch database goes (default: /dev/shm
                 when there is one, else the system temp directory)
`

type verifyCmd struct {
	stdout, stderr io.Writer
}

func (c *verifyCmd) run(ctx context.Context, args []string) error {
	fs := newFlags("verify", verifyUsage, c.stderr)
	dir := fs.String("data", "./kavach-data", "")
	asJSON := fs.Bool("json", false, "")
	treeOnly := fs.Bool("tree-only", false, "")
	scratch := fs.String("scratch", "", "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := notVaultDir(*dir); err != nil {
		return err
	}
	rep, err := node.Verify(ctx, *dir, hospital.Services(), node.VerifyOptions{SkipReplay: *treeOnly, ScratchDir: *scratch})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(c.stdout, "events: %d\nroot: %s\ncheckpoints: %d\n", rep.Events, rep.Root, rep.Checkpoints)
		if len(rep.Origins) > 0 {
			var held []string
			for _, o := range slices.Sorted(maps.Keys(rep.Origins)) {
				held = append(held, fmt.Sprintf("%s %d", o, rep.Origins[o]))
			}
			fmt.Fprintf(c.stdout, "other nodes' journals: %s events\n", strings.Join(held, ", "))
		}
		fmt.Fprintf(c.stdout, "merkle and signatures: %.2fs", rep.MerkleSeconds)
		if !*treeOnly {
			fmt.Fprintf(c.stdout, ", projection replay: %.2fs", rep.ReplaySeconds)
		}
		fmt.Fprintln(c.stdout)
		printFaults(c.stdout, rep.OK, rep.Faults)
	}
	return faultExit(rep.OK)
}

// printFaults ends a check's text report: a line for each fault, or "ok".
func printFaults(w io.Writer, ok bool, faults []string) {
	for _, f := range faults {
		fmt.Fprintln(w, "FAULT:", f)
	}
	if ok {
		fmt.Fprintln(w, "ok")
	}
}

// faultExit is a check's outcome: exit status 1 if it found a fault.
func faultExit(ok bool) error {
	if !ok {
		return &exitError{code: exitFault}
	}
	return nil
}
