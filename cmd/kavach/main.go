// Command kavach is the one binary of the Kavach hospital information system:
// a hospital node (serve), its tools (user, token, verify), the backup vault
// (vault, restore, drill) and its benchmarks (bench).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const usage = `kavach is a hospital information system that keeps running through a ransomware attack.

Usage:
  kavach <command> [flags]

Commands:
  serve     run a hospital node: web pages, JSON API, journal
  user      add, list, disable, enable users; reset a password, unlock
  token     make, list and revoke read-only replication tokens
  verify    check the journal, its checkpoints and the projections
  verify-report  prove a lab report PDF against the journal (online or offline)
  repair    clear the verify fault of text that was not UTF-8 (older builds)
  vault     a backup vault on another host: pulls, verifies, encrypts, stores
  vaults    register, list, remove the vaults a node believes (on the node)
  site      add site nodes on the central, list them, approve a node's new key
  restore   rebuild a node from a vault, verified
  drill     a ransomware drill on this machine, end to end, with a report
  bench     load generator and benchmarks
  version   print the version

Run 'kavach <command> --help' for a command's flags.
`

// Exit statuses: 0 success, 1 the check or operation found a fault, 2 bad usage or an I/O error.
const (
	exitFault = 1
	exitUsage = 2
)

// exitError carries an exit status; its message has already been printed if
// empty, and then detail, if any, repeats it for a --json report.
type exitError struct {
	code   int
	msg    string
	detail string
}

func (e *exitError) Error() string { return e.msg }

func usageErr(format string, args ...any) error {
	return &exitError{code: exitUsage, msg: fmt.Sprintf(format, args...)}
}

func main() {
	restrictUmask()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if err == nil {
		return
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(os.Stderr, "kavach:", ee.msg)
		}
		os.Exit(ee.code)
	}
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	fmt.Fprintln(os.Stderr, "kavach:", err)
	os.Exit(exitUsage)
}

// run is the whole program, callable from tests. With --json a command
// prints exactly one JSON object on stdout, failures included: one that
// fails before it printed its report prints {"ok":false,"error":"…"}.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if !wantsJSON(args) {
		return dispatch(ctx, args, stdout, stderr)
	}
	out := &countingWriter{w: stdout}
	err := dispatch(ctx, args, out, stderr)
	if err == nil || errors.Is(err, flag.ErrHelp) || out.n > 0 {
		return err
	}
	msg := err.Error()
	if ee := (*exitError)(nil); msg == "" && errors.As(err, &ee) {
		msg = ee.detail
	}
	if msg == "" {
		msg = "failed; standard error says why"
	}
	json.NewEncoder(stdout).Encode(map[string]any{"ok": false, "error": msg})
	return err
}

// wantsJSON reports whether the command line asks for --json.
func wantsJSON(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if !strings.HasPrefix(a, "-") {
			continue // a command, or a flag's value
		}
		a = strings.TrimLeft(a, "-")
		if v, ok := strings.CutPrefix(a, "json"); ok && (v == "" || v == "=true" || v == "=1") {
			return true
		}
	}
	return false
}

// countingWriter counts what is written through it.
type countingWriter struct {
	w io.Writer
	n int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += n
	return n, err
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return &exitError{code: exitUsage}
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return (&serveCmd{stdout: stdout, stderr: stderr}).run(ctx, rest)
	case "user":
		return (&userCmd{stdout: stdout, stderr: stderr}).run(ctx, rest)
	case "token":
		return (&tokenCmd{stdout: stdout, stderr: stderr}).run(ctx, rest)
	case "verify":
		return (&verifyCmd{stdout: stdout, stderr: stderr}).run(ctx, rest)
	case "verify-report":
		return (&verifyReportCmd{stdout: stdout, stderr: stderr}).run(ctx, rest)
	case "repair":
		return (&repairCmd{stdout: stdout, stderr: stderr}).run(ctx, rest)
	case "vault":
		return (&vaultCmd{stdout: stdout, stderr: stderr}).run(ctx, rest)
	case "vaults":
		return (&vaultsCmd{stdout: stdout, stderr: stderr}).run(ctx, rest)
	case "site":
		return (&siteCmd{stdout: stdout, stderr: stderr}).run(ctx, rest)
	case "restore":
		return (&restoreCmd{stdout: stdout, stderr: stderr}).run(ctx, rest)
	case "drill":
		return (&drillCmd{stdout: stdout, stderr: stderr}).run(ctx, rest)
	case "bench":
		return (&benchCmd{stdout: stdout, stderr: stderr}).run(ctx, rest)
	case "version":
		fs := newFlags("version", "Usage: kavach version [--json]\n\nPrints the version of this kavach.\n", stderr)
		asJSON := fs.Bool("json", false, "")
		if err := parse(fs, rest); err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(map[string]string{"version": version})
		}
		fmt.Fprintln(stdout, "kavach", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageErr("unknown command %q; see the list above", cmd)
}

const version = "0.1.0"

// newFlags returns a flag set that prints usage to stderr and returns errors.
func newFlags(name, usageText string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usageText) }
	return fs
}

// parse parses flags, mapping a bad flag to a usage error and --help to success.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &exitError{code: exitUsage, detail: err.Error()} // the flag package printed it
	}
	if fs.NArg() > 0 {
		return usageErr("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}
