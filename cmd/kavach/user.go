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
	"text/tabwriter"

	kavacherr "kavach" // the package, beside the tests' kavach helper
	"kavach/access"
	"kavach/auth"
	"kavach/hospital"
	"kavach/node"
)

const userUsage = `Usage:
  kavach user add --data DIR --username NAME --role ROLE [--full-name TEXT] [--password-file FILE]
  kavach user list --data DIR [--json]
  kavach user disable --data DIR --username NAME
  kavach user enable --data DIR --username NAME
  kavach user unlock --data DIR --username NAME
  kavach user reset-password --data DIR --username NAME [--password-file FILE]

Manages the node's users. Every change is a journaled event. Works while
'kavach serve' runs on DIR. A new password (add, reset-password) is read
from --password-file, else from $KAVACH_USER_PASSWORD: at least 10
characters, not a common password. After reset-password the user must
choose a new password at the next login, and their sessions end. unlock lets
a user log in again from every computer after too many failed logins.

Roles: admin registration doctor lab billing nurse auditor
`

type userCmd struct {
	stdout, stderr io.Writer
}

func openExisting(ctx context.Context, dir string) (*hospital.Hospital, error) {
	if err := notVaultDir(dir); err != nil {
		return nil, err
	}
	if _, err := os.Stat(node.DBPath(dir)); err != nil {
		return nil, fmt.Errorf("no Kavach node in %s (start one with 'kavach serve --data %s')", dir, dir)
	}
	return hospital.Open(ctx, node.Config{Dir: dir})
}

// notVaultDir refuses a vault's directory where a node's is wanted: a node
// set up inside it would mix the two, and the vault belongs on another host.
func notVaultDir(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "vault.json")); err == nil {
		return usageErr("%s is a vault's data directory (it holds vault.json), not a node's: give the node's directory with --data", dir)
	}
	return nil
}

func (c *userCmd) run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprint(c.stderr, userUsage)
		if len(args) == 0 {
			return &exitError{code: exitUsage}
		}
		return nil
	}
	sub := args[0]
	fs := newFlags("user "+sub, userUsage, c.stderr)
	dir := fs.String("data", "./kavach-data", "")
	username := fs.String("username", "", "")
	role := fs.String("role", "", "")
	fullName := fs.String("full-name", "", "")
	pwFile := fs.String("password-file", "", "")
	asJSON := fs.Bool("json", false, "")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	switch sub {
	case "add", "disable", "enable", "list", "unlock", "reset-password":
	default:
		return usageErr("user: unknown subcommand %q; use add, list, disable, enable, unlock or reset-password", sub)
	}
	if sub != "list" && *username == "" {
		return usageErr("user %s: --username is required", sub)
	}
	h, err := openExisting(ctx, *dir)
	if err != nil {
		return err
	}
	defer h.Close()
	readPassword := func() (string, error) {
		pw := os.Getenv("KAVACH_USER_PASSWORD")
		if *pwFile != "" {
			b, err := os.ReadFile(*pwFile)
			if err != nil {
				return "", err
			}
			pw = strings.TrimRight(string(b), "\r\n")
		}
		if pw == "" {
			return "", usageErr("user %s: give the password with --password-file FILE or $KAVACH_USER_PASSWORD", sub)
		}
		return pw, nil
	}
	switch sub {
	case "unlock":
		if err := h.Auth.Unlock(ctx, "admin", *username); err != nil {
			return faultErr(err)
		}
		fmt.Fprintf(c.stdout, "unlocked %s\n", *username)
	case "reset-password":
		pw, err := readPassword()
		if err != nil {
			return err
		}
		if err := h.Auth.ResetPassword(ctx, "admin", *username, pw); err != nil {
			return faultErr(err)
		}
		fmt.Fprintf(c.stdout, "reset the password of %s: they choose a new one at their next login\n", *username)
	case "add":
		pw, err := readPassword()
		if err != nil {
			return err
		}
		err = h.Auth.AddUser(ctx, "admin", auth.NewUser{Username: *username, FullName: *fullName, Role: access.Role(*role), Password: pw})
		if err != nil {
			return faultErr(err)
		}
		fmt.Fprintf(c.stdout, "added %s (%s)\n", strings.ToLower(*username), *role)
	case "disable", "enable":
		if err := h.Auth.SetDisabled(ctx, "admin", *username, sub == "disable"); err != nil {
			return faultErr(err)
		}
		fmt.Fprintf(c.stdout, "%sd %s\n", sub, *username)
	case "list":
		us, err := auth.Users(ctx, h.Node.DB())
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(c.stdout).Encode(map[string]any{"users": us})
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USERNAME\tROLE\tFULL NAME\tSTATUS")
		for _, u := range us {
			st := "active"
			if u.Disabled {
				st = "disabled"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Username, u.Role, u.FullName, st)
		}
		tw.Flush()
	}
	return nil
}

// faultErr turns an error of the operation into an exit status with its
// message: 2 for a field given a value it may not have (bad usage), 1 for
// the rest (the user exists already, or is not there).
func faultErr(err error) error {
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	if kavacherr.ErrorCode(err) == kavacherr.EINVALID {
		return &exitError{code: exitUsage, msg: err.Error()}
	}
	return &exitError{code: exitFault, msg: err.Error()}
}
