package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// With --json a command prints exactly one JSON object on stdout, also when
// it fails before its report: {"ok":false,"error":"…"}, with the exit status
// it would have had.
func TestJSONOnFailure(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	vdir := t.TempDir() // a vault's directory, given where a node's is wanted
	os.WriteFile(filepath.Join(vdir, "vault.json"), []byte("{}"), 0o600)
	for _, tc := range []struct {
		args []string
		code int
		want string // in the error
	}{
		{[]string{"verify", "--data", filepath.Join(dir, "none"), "--json"}, exitUsage, "no Kavach node"},
		{[]string{"restore", "--json", "--bogus"}, exitUsage, "flag provided but not defined: -bogus"},
		{[]string{"restore", "--json", "--vault", dir}, exitUsage, "are required"},
		{[]string{"vault", "status", "--data", dir, "--json"}, exitUsage, "not a vault directory"},
		{[]string{"vault", "scrub", "--data", dir, "--json=true"}, exitUsage, "vault"},
		{[]string{"token", "--data", filepath.Join(dir, "none"), "--scope", "replicate", "--json"}, exitUsage, ""},
		{[]string{"verify", "--data", vdir, "--json"}, exitUsage, "is a vault's data directory"},
		{[]string{"user", "list", "--data", vdir, "--json"}, exitUsage, "is a vault's data directory"},
	} {
		var out, errs bytes.Buffer
		err := run(ctx, tc.args, &out, &errs)
		code := exitUsage // as main exits on an error that carries no status
		if ee, ok := err.(*exitError); ok {
			code = ee.code
		}
		if err == nil || code != tc.code {
			t.Errorf("%v: %v, want exit %d", tc.args, err, tc.code)
			continue
		}
		var got struct {
			OK    *bool  `json:"ok"`
			Error string `json:"error"`
		}
		dec := json.NewDecoder(&out)
		if err := dec.Decode(&got); err != nil || got.OK == nil || *got.OK || got.Error == "" || !strings.Contains(got.Error, tc.want) {
			t.Errorf("%v: stdout %q (%v), want one JSON object with ok false and an error naming %q", tc.args, out.String(), err, tc.want)
			continue
		}
		if dec.More() {
			t.Errorf("%v: more than one JSON object on stdout: %q", tc.args, out.String())
		}
	}
	// Without --json, stdout stays empty.
	var out bytes.Buffer
	run(ctx, []string{"verify", "--data", filepath.Join(dir, "none")}, &out, &bytes.Buffer{})
	if out.Len() != 0 {
		t.Errorf("verify without --json printed %q on stdout", out.String())
	}
}

// TestServeBadEnvPassword: a password from the environment that would be
// refused stops the first start before anything is made, naming the
// variable, so that the next start is a first start again.
func TestServeBadEnvPassword(t *testing.T) {
	for _, tc := range []struct{ env, want string }{
		{"KAVACH_ADMIN_PASSWORD=short", "$KAVACH_ADMIN_PASSWORD: Password must have at least 10 characters"},
		{"KAVACH_DEMO_PASSWORD=password123", "$KAVACH_DEMO_PASSWORD: This password is one of the most common ones"},
	} {
		dir := filepath.Join(t.TempDir(), "data")
		_, stderr, code := kavachEnv(t, []string{tc.env}, "serve", "--data", dir, "--addr", "127.0.0.1:0", "--demo")
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, %s", tc.env, code, stderr)
		}
		for _, f := range []string{"kavach.db", "node.key"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
				t.Errorf("%s: %s was made", tc.env, f)
			}
		}
	}
}
