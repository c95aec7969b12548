package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	kavacherr "kavach" // the package, beside the tests' kavach helper
	"kavach/lab"
)

const verifyReportUsage = `Usage: kavach verify-report FILE.pdf [--checkpoint FILE] [--url URL] [--key VERIFIER] [--json]

Proves that a lab report PDF is what the hospital's journal holds: that
rendering its release event again gives exactly this file (a changed digit
fails), and that the event is included in a checkpoint signed by the node's
key, with an inclusion proof.

By default it asks the node at the address in the report's QR code (or
--url) for its newest signed checkpoint, and checks that this includes the
report's event and extends the checkpoint the report carries; it also says
whether a newer version replaced the report. With --checkpoint it works
offline: FILE is a signed checkpoint saved from the hospital's node
(GET /api/v1/checkpoint), which must be signed by the same key as the
report's.

The report names its own key and its own address: a forged one can point
its QR code at a server of the forger's. Unless the address on the
"against:" line is the hospital's, check again with --url and the
hospital's address, or with --checkpoint.

Exit status: 0 proven, 1 not proven (a fault), 2 bad usage or an I/O error
(the file cannot be read, the node does not answer).

Flags:
  --checkpoint FILE  check offline against this saved signed checkpoint
  --url URL          ask the node at URL instead of the QR code's address
  --key VERIFIER     the hospital's node key (its node.pub, as IT publishes it):
                     the report's journal must be signed by it (a report
                     released at a site node names that site's key)
  --json             print one JSON object: {"ok","accession","version",
                     "origin","index","hash","checkpoint","against",
                     "current","faults","notes"}
`

type verifyReportCmd struct {
	stdout, stderr io.Writer
}

func (c *verifyReportCmd) run(ctx context.Context, args []string) error {
	fs := newFlags("verify-report", verifyReportUsage, c.stderr)
	saved := fs.String("checkpoint", "", "")
	base := fs.String("url", "", "")
	pin := fs.String("key", "", "")
	asJSON := fs.Bool("json", false, "")
	// The file may come before or after the flags.
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return &exitError{code: exitUsage, detail: err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		files, args = append(files, fs.Arg(0)), fs.Args()[1:]
	}
	if len(files) != 1 {
		fs.Usage()
		return usageErr("verify-report: give one report PDF")
	}
	pdf, err := os.ReadFile(files[0])
	if err != nil {
		return err
	}
	check, err := lab.CheckReportPDF(pdf)
	if err != nil {
		msg := err.Error()
		var ke *kavacherr.Error
		if errors.As(err, &ke) {
			msg = ke.Message // not "invalid: …"
		}
		return &exitError{code: exitFault, msg: files[0] + ": " + msg, detail: msg}
	}
	if *pin != "" {
		check.PinKey(strings.TrimSpace(*pin))
	}
	switch {
	case *saved != "":
		cp, err := os.ReadFile(*saved)
		if err != nil {
			return err
		}
		check.AgainstCheckpoint(cp, *saved)
	default:
		u := strings.TrimRight(*base, "/")
		if u == "" {
			if u, err = lab.BaseOf(check.URL()); err != nil {
				return &exitError{code: exitFault, msg: err.Error(), detail: err.Error()}
			}
		}
		client := &http.Client{Timeout: 30 * time.Second}
		if err := check.AgainstNode(ctx, client, u); err != nil {
			return fmt.Errorf("%w (to check offline, give --checkpoint with a checkpoint saved from the hospital's node)", err)
		}
	}
	check.Finish()
	if *asJSON {
		if err := json.NewEncoder(c.stdout).Encode(check); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(c.stdout, "report: %s version %d, patient %s\n", check.Accession, check.Version, check.UHID)
		fmt.Fprintf(c.stdout, "event: %s index %d, hash %s\n", check.Origin, check.Index, check.Hash)
		fmt.Fprintf(c.stdout, "checkpoint: size %d, root %s\n", check.Checkpoint.Size, check.Checkpoint.Root)
		fmt.Fprintf(c.stdout, "against: %s\n", check.Against)
		if check.Current != nil {
			state := "current"
			if !*check.Current {
				state = fmt.Sprintf("superseded by version %d at %s", check.LatestVersion, check.SupersededAt)
			}
			fmt.Fprintf(c.stdout, "status: %s\n", state)
		}
		for _, n := range check.Notes {
			fmt.Fprintln(c.stdout, "note:", n)
		}
		printFaults(c.stdout, check.OK, check.Faults)
	}
	return faultExit(check.OK)
}
