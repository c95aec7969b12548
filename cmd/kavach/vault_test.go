package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	"kavach/hospital"
	"kavach/node"
	"kavach/vault"
)

// These tests run a node and a vault as separate processes of the real binary.

// kavach runs the binary to completion and returns its stdout, stderr and
// exit status.
func kavach(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return kavachEnv(t, nil, args...)
}

// kavachEnv is kavach with env added to the binary's environment.
func kavachEnv(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

type vaultProc struct {
	cmd  *exec.Cmd
	logs *bytes.Buffer
}

func startVaultProc(t *testing.T, args ...string) *vaultProc {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"vault"}, args...)...)
	logs := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return &vaultProc{cmd: cmd, logs: logs}
}

// stop sends SIGTERM and expects a clean exit.
func (v *vaultProc) stop(t *testing.T) {
	t.Helper()
	v.cmd.Process.Signal(syscall.SIGTERM)
	if err := v.cmd.Wait(); err != nil {
		t.Fatalf("vault after SIGTERM: %v\n%s", err, v.logs)
	}
}

type vaultStatusJSON struct {
	State          string    `json:"state"`
	Events         uint64    `json:"events"`
	LagSeconds     float64   `json:"lag_seconds"`
	LastCheckpoint string    `json:"last_checkpoint"`
	Alerts         []string  `json:"alerts"`
	VaultRunning   bool      `json:"vault_running"`
	Name           string    `json:"name"`
	CosignKey      string    `json:"cosign_key"`
	SourceEvents   uint64    `json:"source_events"`
	LastContact    time.Time `json:"last_contact"`
	CosignedEvents uint64    `json:"cosigned_events"`
	AlertDetails   []struct {
		Kind, Cause, Quarantine string
	} `json:"alert_details"`
}

func vaultStatus(t *testing.T, dir string) (vaultStatusJSON, int) {
	t.Helper()
	out, stderr, code := kavach(t, "vault", "status", "--data", dir, "--json")
	var st vaultStatusJSON
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("vault status --json: %v: %q %s", err, out, stderr)
	}
	return st, code
}

func nodeEvents(t *testing.T, s *server) uint64 {
	t.Helper()
	code, b := call(t, "GET", s.url+"/api/v1/status", login(t, s, "admin"), nil)
	var st struct{ Events uint64 }
	if code != 200 || json.Unmarshal(b, &st) != nil {
		t.Fatalf("node status: %d %s", code, b)
	}
	return st.Events
}

func register(t *testing.T, s *server, from, n int) {
	t.Helper()
	tok := login(t, s, "registration")
	for i := from; i < from+n; i++ {
		if code, b := call(t, "POST", s.url+"/api/v1/patients", tok, patient(i)); code != 201 {
			t.Fatalf("register: %d %s", code, b)
		}
	}
}

func waitUntil(t *testing.T, what string, logs fmt.Stringer, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s\n%s", what, logs)
}

// waitSynced waits until the vault holds the node's whole journal and says ok.
func waitSynced(t *testing.T, s *server, vdir string, v *vaultProc) uint64 {
	t.Helper()
	want := nodeEvents(t, s)
	var st vaultStatusJSON
	waitUntil(t, fmt.Sprintf("the vault to hold %d events", want), v.logs, func() bool {
		var code int
		st, code = vaultStatus(t, vdir)
		return code == 0 && st.State == "ok" && st.Events == want && st.CosignedEvents == want
	})
	return want
}

func replicationToken(t *testing.T, dir string) string {
	t.Helper()
	out, stderr, code := kavach(t, "token", "--data", dir, "--scope", "replicate")
	if code != 0 {
		t.Fatalf("token: %d %s", code, stderr)
	}
	f := filepath.Join(t.TempDir(), "replicate.token")
	if err := os.WriteFile(f, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestVaultUsage(t *testing.T) {
	for _, args := range [][]string{{"vault", "--help"}, {"vault", "status", "--help"}, {"vault", "scrub", "--help"}, {"vault", "approve-key", "--help"}} {
		if out, stderr, code := kavach(t, args...); code != 0 || !strings.Contains(out+stderr, "Usage") {
			t.Errorf("%v: exit %d %s%s", args, code, out, stderr)
		}
	}
	dir := t.TempDir()
	// A node's directory, given to a vault by mistake.
	nodeDir := t.TempDir()
	os.WriteFile(filepath.Join(nodeDir, "kavach.db"), nil, 0o600)
	// Someone's documents, given to a new vault by mistake.
	docsDir := t.TempDir()
	os.WriteFile(filepath.Join(docsDir, "letter.txt"), []byte("dear\n"), 0o600)
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte("kvr_x\n"), 0o600)
	id, _ := age.GenerateX25519Identity()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"vault", "--data", nodeDir, "--source", "http://127.0.0.1:1", "--token-file", tokenFile, "--recipient", id.Recipient().String()}, "is a node's data directory"},
		{[]string{"vault", "--data", docsDir, "--source", "http://127.0.0.1:1", "--token-file", tokenFile, "--recipient", id.Recipient().String()}, "is not empty and holds no vault"},
		{[]string{"vault"}, "--data"},
		{[]string{"vault", "frobnicate"}, "try status"},
		{[]string{"vault", "--data", dir, "--source", "http://127.0.0.1:1"}, "--token-file"},
		{[]string{"vault", "--data", dir, "--source", "http://127.0.0.1:1", "--token-file", "/dev/null"}, "--recipient"},
		{[]string{"vault", "--data", dir, "--source", "http://127.0.0.1:1", "--token-file", "/dev/null", "--recipient", "age1nope"}, "age recipient"},
		{[]string{"vault", "status"}, "--data"},
		{[]string{"vault", "status", "--data", dir}, "not a vault"},
		{[]string{"vault", "scrub", "--data", dir}, "not a vault"},
		{[]string{"vault", "approve-key", "--data", dir, "--key", "nonsense"}, "name+hash+key"},
	} {
		if out, stderr, code := kavach(t, tc.args...); code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %q %q; want 2 and %q", tc.args, code, out, stderr, tc.want)
		}
	}
}

func TestVaultProcess(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node")
	s := startServer(t, dir, "--demo")
	register(t, s, 0, 20)
	tokenFile := replicationToken(t, dir)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	vdir := filepath.Join(t.TempDir(), "vault")
	v := startVaultProc(t, "--data", vdir, "--source", s.url, "--token-file", tokenFile,
		"--recipient", id.Recipient().String(), "--name", "vault-test", "--wait", "1s")
	waitSynced(t, s, vdir, v)
	// The node believes the vault's reports once its administrator
	// registers the vault's name and key, which the vault's status shows.
	st, _ := vaultStatus(t, vdir)
	if out, stderr, code := kavach(t, "vaults", "add", "--data", dir, "--name", st.Name, "--key", st.CosignKey); code != 0 {
		t.Fatalf("vaults add: %d %s %s", code, out, stderr)
	}

	// Live: new registrations reach the vault, and the node hears what the
	// vault cosigned (logins are journaled too, so it may be a little more).
	register(t, s, 20, 10)
	n := waitSynced(t, s, vdir, v)
	waitUntil(t, "the node to list the vault's cosigned size", v.logs, func() bool {
		code, b := call(t, "GET", s.url+"/api/v1/status", login(t, s, "admin"), nil)
		var st struct {
			Vaults []struct {
				Name   string
				Events uint64
			}
		}
		json.Unmarshal(b, &st)
		return code == 200 && len(st.Vaults) == 1 && st.Vaults[0].Name == "vault-test" && st.Vaults[0].Events >= n
	})
	if out, _, code := kavach(t, "vault", "status", "--data", vdir); code != 0 || !strings.Contains(out, "vault vault-test: ok") {
		t.Fatalf("vault status: %d %s", code, out)
	}
	for name, mode := range map[string]os.FileMode{"": 0o700, "vault.key": 0o600} {
		if fi, err := os.Stat(filepath.Join(vdir, name)); err != nil || fi.Mode().Perm() != mode {
			t.Fatalf("%s: %v %v, want mode %v", name, fi.Mode().Perm(), err, mode)
		}
	}

	v.stop(t)
	st, code := vaultStatus(t, vdir) // logins are journaled: the vault may hold a few more
	if code != 1 || st.VaultRunning || st.State != "source-unreachable" || st.Events < n {
		t.Fatalf("status of a stopped vault: exit %d %+v", code, st)
	}
	n = st.Events
	out, stderr, code := kavach(t, "vault", "scrub", "--data", vdir, "--json")
	var rep struct {
		OK     bool
		Faults []string
		Events uint64
	}
	if json.Unmarshal([]byte(out), &rep); code != 0 || !rep.OK || rep.Events != n || rep.Faults == nil {
		t.Fatalf("scrub: exit %d %s %s", code, out, stderr)
	}

	// Encrypted at rest, and the offline identity reads it all back.
	var segments []string
	filepath.WalkDir(filepath.Join(vdir, "store", "segments"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			segments = append(segments, path)
			if data, _ := os.ReadFile(path); bytes.Contains(data, []byte("Crash Test")) {
				t.Errorf("%s holds a patient's name in the clear", path)
			}
		}
		return err
	})
	store, err := vault.OpenStore(filepath.Join(vdir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	var read uint64
	err = store.Events([]age.Identity{id}, nil, func(uint64, []byte) error { read++; return nil })
	store.Close()
	if err != nil || read != n {
		t.Fatalf("read back %d of %d events: %v", read, n, err)
	}

	// Ransomware on the vault host changes one byte.
	victim := segments[len(segments)/2]
	os.Chmod(victim, 0o600)
	data, _ := os.ReadFile(victim)
	data[len(data)/2] ^= 0x01
	os.WriteFile(victim, data, 0o400)
	out, _, code = kavach(t, "vault", "scrub", "--data", vdir, "--json")
	rep.Faults = nil
	json.Unmarshal([]byte(out), &rep)
	if code != 1 || rep.OK || !strings.Contains(strings.Join(rep.Faults, "\n"), filepath.Base(victim)) {
		t.Fatalf("scrub after a changed byte: exit %d %s", code, out)
	}
}

// TestVaultRollback puts an old copy of the node's data back (same key, a
// shorter history), lets it register other patients, and expects the vault
// to refuse it, keep its longer history and say fork-detected.
func TestVaultRollback(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node")
	old := filepath.Join(t.TempDir(), "old")
	s := startServer(t, dir, "--demo")
	addr := strings.TrimPrefix(s.url, "http://") // the vault knows the node by its address
	register(t, s, 0, 5)
	tokenFile := replicationToken(t, dir)
	id, _ := age.GenerateX25519Identity()
	vdir := filepath.Join(t.TempDir(), "vault")
	vaultArgs := []string{"--data", vdir, "--source", s.url, "--token-file", tokenFile,
		"--recipient", id.Recipient().String(), "--name", "vault-test", "--wait", "1s"}
	v := startVaultProc(t, vaultArgs...)
	waitSynced(t, s, vdir, v)

	stopNode := func(s *server) {
		s.cmd.Process.Signal(syscall.SIGTERM)
		if err := s.cmd.Wait(); err != nil {
			t.Fatalf("node after SIGTERM: %v\n%s", err, s.logs)
		}
	}
	stopNode(s)
	copyDir(t, dir, old)
	s = startServer(t, dir, "--addr", addr)
	register(t, s, 5, 10)
	n := waitSynced(t, s, vdir, v)
	stopNode(s)

	// The attacker (or a careless restore) puts the old copy back.
	if err := os.Rename(dir, dir+".newer"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(old, dir); err != nil {
		t.Fatal(err)
	}
	s = startServer(t, dir, "--addr", addr)
	register(t, s, 100, 3)

	var st vaultStatusJSON
	waitUntil(t, "fork-detected", v.logs, func() bool {
		var code int
		st, code = vaultStatus(t, vdir)
		return code == 1 && st.State == "fork-detected"
	})
	if len(st.Alerts) == 0 || st.Events != n || !strings.Contains(v.logs.String(), `msg="vault alert" kind=fork-detected`) {
		t.Fatalf("after the rollback: %+v\n%s", st, v.logs)
	}
	entries := forkEntries(t, vdir)
	if len(entries) == 0 {
		t.Fatal("nothing set aside in forks/")
	}
	// It stays so while the rolled-back node goes on, and across a restart.
	// A vault that stopped appending asks the node where it is only every
	// 30 s; a restarted one asks at once, so its status shows when it has
	// heard of the node's new events (and refused them).
	register(t, s, 200, 3)
	want := nodeEvents(t, s)
	v.stop(t)
	v = startVaultProc(t, vaultArgs...)
	waitUntil(t, fmt.Sprintf("the restarted vault to hear that the node has %d events", want), v.logs, func() bool {
		st, _ = vaultStatus(t, vdir)
		return st.VaultRunning && !st.LastContact.IsZero() && st.SourceEvents >= want
	})
	if st.State != "fork-detected" || st.Events != n || len(forkEntries(t, vdir)) != len(entries) {
		t.Fatalf("later: %+v, forks/ %v (was %d entries)", st, forkEntries(t, vdir), len(entries))
	}
	v.stop(t)
	out, _, code := kavach(t, "vault", "scrub", "--data", vdir, "--json")
	var rep struct {
		OK     bool
		Events uint64
	}
	if json.Unmarshal([]byte(out), &rep); code != 0 || !rep.OK || rep.Events != n {
		t.Fatalf("scrub after the fork: exit %d %s", code, out)
	}

	// The vault still restores the original, longer history: the patients
	// registered after the copy was taken are there, the rolled-back node's
	// are not.
	idFile := filepath.Join(t.TempDir(), "identity.txt")
	os.WriteFile(idFile, []byte(id.String()+"\n"), 0o600)
	restored := filepath.Join(t.TempDir(), "restored")
	out, stderr, code := kavach(t, "restore", "--vault", vdir, "--identity", idFile, "--to", restored, "--json")
	var rr struct {
		OK     bool   `json:"ok"`
		Events uint64 `json:"events"`
	}
	if json.Unmarshal([]byte(out), &rr); code != 0 || !rr.OK || rr.Events != n {
		t.Fatalf("restore after the fork: exit %d %s %s", code, out, stderr)
	}
	stopNode(s)
	r := startServer(t, restored)
	tok := login(t, r, "registration")
	for _, c := range []struct {
		mobile string
		want   bool
	}{{patient(7)["mobile"].(string), true}, {patient(100)["mobile"].(string), false}} {
		_, b := call(t, "GET", r.url+"/api/v1/patients?q="+c.mobile, tok, nil)
		if found := strings.Contains(string(b), c.mobile); found != c.want {
			t.Fatalf("restored history: patient with mobile %s present=%v, want %v: %s", c.mobile, found, c.want, b)
		}
	}
}

// forkEntries lists what the vault in vdir set aside as refused histories.
func forkEntries(t *testing.T, vdir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(vdir, "store", "forks"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		dst := filepath.Join(to, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(dst, info.Mode().Perm())
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestVaultApproveRestoredKey restores a node from the vault after an
// attack: the restored node signs with a new key, which the vault refuses
// until its administrator approves it, and then follows it.
func TestVaultApproveRestoredKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node")
	s := startServer(t, dir, "--demo")
	addr := strings.TrimPrefix(s.url, "http://")
	register(t, s, 0, 5)
	tokenFile := replicationToken(t, dir)
	id, _ := age.GenerateX25519Identity()
	idFile := filepath.Join(t.TempDir(), "identity.txt")
	os.WriteFile(idFile, []byte(id.String()+"\n"), 0o600)
	vdir := filepath.Join(t.TempDir(), "vault")
	vaultArgs := []string{"--data", vdir, "--source", s.url, "--token-file", tokenFile, "--recipient", id.Recipient().String(), "--wait", "1s"}
	v := startVaultProc(t, vaultArgs...)
	n := waitSynced(t, s, vdir, v)

	// The node is lost; it is restored from the vault with a new key.
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
	v.stop(t)
	restored := filepath.Join(t.TempDir(), "restored")
	out, stderr, code := kavach(t, "restore", "--vault", vdir, "--identity", idFile, "--to", restored, "--json")
	var rr struct {
		OK          bool
		Events      uint64
		NewVerifier string `json:"new_verifier"`
	}
	if json.Unmarshal([]byte(out), &rr); code != 0 || !rr.OK || rr.Events != n || rr.NewVerifier == "" {
		t.Fatalf("restore: exit %d %s %s", code, out, stderr)
	}
	s = startServer(t, restored, "--addr", addr)
	os.WriteFile(tokenFile, []byte(strings.TrimSpace(readFile(t, replicationToken(t, restored)))), 0o600)
	v = startVaultProc(t, vaultArgs...)
	var st vaultStatusJSON
	waitUntil(t, "the vault to refuse the new key", v.logs, func() bool {
		st, code = vaultStatus(t, vdir)
		return code == 1 && st.State == "fork-detected"
	})
	if st.Events != n || len(st.AlertDetails) != 1 || st.AlertDetails[0].Kind != "key-changed" || !strings.Contains(st.Alerts[0], rr.NewVerifier) {
		t.Fatalf("before approval: %+v", st)
	}

	if out, stderr, code := kavach(t, "vault", "approve-key", "--data", vdir, "--key", rr.NewVerifier); code != 0 {
		t.Fatalf("approve-key: %d %s %s", code, out, stderr)
	}
	register(t, s, 100, 3)
	if m := waitSynced(t, s, vdir, v); m <= n {
		t.Fatalf("the vault holds %d events after the approval, it held %d before", m, n)
	}
	v.stop(t)
	out, _, code = kavach(t, "vault", "scrub", "--data", vdir, "--json")
	if code != 0 || !strings.Contains(out, `"ok":true`) {
		t.Fatalf("scrub across the key change: exit %d %s", code, out)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// kavach vaults registers, lists and removes the vaults a node believes,
// and refuses a key that is not a cosigning key or not the named vault's.
func TestVaultsCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node")
	h, err := hospital.Open(context.Background(), node.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	_, key, err := vault.GenerateKey("vault-b")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"ErrNoKey", []string{"vaults", "add", "--data", dir, "--name", "vault-b"}, 2, "--key are required"},
		{"ErrNotAKey", []string{"vaults", "add", "--data", dir, "--name", "vault-b", "--key", "nonsense"}, 2, "public cosigning key"},
		{"ErrOtherVaultsKey", []string{"vaults", "add", "--data", dir, "--name", "vault-c", "--key", key}, 2, `vault "vault-b"'s`},
		{"ErrBadName", []string{"vaults", "add", "--data", dir, "--name", "vault b", "--key", key}, 2, "letters, digits"},
		{"OKAdd", []string{"vaults", "add", "--data", dir, "--name", "vault-b", "--key", key}, 0, "registered vault vault-b"},
		{"OKList", []string{"vaults", "list", "--data", dir}, 0, key},
		{"OKAddAgainJSON", []string{"vaults", "add", "--data", dir, "--name", "vault-b", "--key", key, "--json"}, 0, `{"registered":{"name":"vault-b","key":"` + key + `"}}`},
		{"OKRemove", []string{"vaults", "remove", "--data", dir, "--name", "vault-b"}, 0, "removed vault vault-b"},
		{"OKAddForRemoveJSON", []string{"vaults", "add", "--data", dir, "--name", "vault-b", "--key", key}, 0, ""},
		{"OKRemoveJSON", []string{"vaults", "remove", "--data", dir, "--name", "vault-b", "--json"}, 0, `{"removed":{"name":"vault-b"}}`},
		{"ErrRemoveAgain", []string{"vaults", "remove", "--data", dir, "--name", "vault-b"}, 1, "No vault vault-b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := kavach(t, tc.args...)
			if code != tc.code || !strings.Contains(out+stderr, tc.want) {
				t.Fatalf("exit %d, %q %q; want %d and %q", code, out, stderr, tc.code, tc.want)
			}
		})
	}
}

// TestVaultDrillBesideRunningVault runs the monthly drill's scrub and
// restore against the directory of a vault that keeps pulling from a node
// that keeps registering patients: both read a consistent view of the store
// while the vault goes on appending to it.
func TestVaultDrillBesideRunningVault(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node")
	s := startServer(t, dir, "--demo")
	register(t, s, 0, 20)
	tokenFile := replicationToken(t, dir)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	idFile := filepath.Join(t.TempDir(), "identity.txt")
	if err := os.WriteFile(idFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vdir := filepath.Join(t.TempDir(), "vault")
	v := startVaultProc(t, "--data", vdir, "--source", s.url, "--token-file", tokenFile,
		"--recipient", id.Recipient().String(), "--name", "vault-drill", "--wait", "1s")
	waitSynced(t, s, vdir, v)

	// Registrations go on throughout, a little at a time, so that the vault
	// appends while the scrub and the restore read.
	stop := make(chan struct{})
	done := make(chan struct{})
	tok := login(t, s, "registration")
	go func() {
		defer close(done)
		for i := 1000; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			call(t, "POST", s.url+"/api/v1/patients", tok, patient(i))
		}
	}()
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		<-done
	}()

	out, stderr, code := kavach(t, "vault", "scrub", "--data", vdir, "--json")
	var rep struct {
		OK     bool
		Faults []string
		Events uint64
	}
	if json.Unmarshal([]byte(out), &rep); code != 0 || !rep.OK || rep.Events < 20 {
		t.Fatalf("scrub beside the running vault: exit %d %s %s", code, out, stderr)
	}
	restored := filepath.Join(t.TempDir(), "restored")
	out, stderr, code = kavach(t, "restore", "--vault", vdir, "--identity", idFile, "--to", restored, "--json")
	var rr struct {
		OK     bool
		Events uint64
	}
	if json.Unmarshal([]byte(out), &rr); code != 0 || !rr.OK || rr.Events < rep.Events {
		t.Fatalf("restore beside the running vault: exit %d %s %s", code, out, stderr)
	}

	// The vault went on pulling: it holds more than the restore took.
	waitUntil(t, fmt.Sprintf("the vault to hold more than the %d events restored", rr.Events), v.logs, func() bool {
		st, _ := vaultStatus(t, vdir)
		return st.VaultRunning && st.Events > rr.Events && len(st.Alerts) == 0
	})
	close(stop)
	<-done
	waitSynced(t, s, vdir, v)
	if out, stderr, code := kavach(t, "verify", "--data", restored, "--json"); code != 0 || !strings.Contains(out, `"ok":true`) {
		t.Fatalf("verify the restored node: exit %d %s %s", code, out, stderr)
	}
	v.stop(t)
	if out, _, code := kavach(t, "vault", "scrub", "--data", vdir, "--json"); code != 0 || !strings.Contains(out, `"ok":true`) {
		t.Fatalf("scrub of the stopped vault after the drill: exit %d %s", code, out)
	}
}

// TestVaultMissingEvents deletes the newest files of a vault, or its whole
// store, as ransomware on the vault host would: what is left is a shorter
// history, sound in itself. The vault's record of what it confirmed to the
// node shows it: scrub exits 1 naming what is missing, and restore says how
// much is missing and refuses unless told to go on.
func TestVaultMissingEvents(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node")
	s := startServer(t, dir, "--demo")
	register(t, s, 0, 10)
	tokenFile := replicationToken(t, dir)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	idFile := filepath.Join(t.TempDir(), "identity.txt")
	if err := os.WriteFile(idFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vdir := filepath.Join(t.TempDir(), "vault")
	v := startVaultProc(t, "--data", vdir, "--source", s.url, "--token-file", tokenFile,
		"--recipient", id.Recipient().String(), "--name", "vault-missing", "--wait", "1s")
	waitSynced(t, s, vdir, v)
	// The node takes the vault's reports once it is registered.
	st, _ := vaultStatus(t, vdir)
	if out, stderr, code := kavach(t, "vaults", "add", "--data", dir, "--name", st.Name, "--key", st.CosignKey); code != 0 {
		t.Fatalf("vaults add: %d %s %s", code, out, stderr)
	}
	register(t, s, 10, 10)
	n := waitSynced(t, s, vdir, v)
	var confirmed uint64
	waitUntil(t, "the vault to record what the node accepted", v.logs, func() bool {
		out, _, _ := kavach(t, "vault", "status", "--data", vdir, "--json")
		var st struct {
			Events          uint64 `json:"events"`
			ConfirmedEvents uint64 `json:"confirmed_events"`
		}
		json.Unmarshal([]byte(out), &st)
		confirmed = st.ConfirmedEvents
		return confirmed == st.Events && confirmed >= n
	})
	v.stop(t)
	if out, _, code := kavach(t, "vault", "status", "--data", vdir); !strings.Contains(out, fmt.Sprintf("%d confirmed to the node", confirmed)) {
		t.Fatalf("vault status: %d %s", code, out)
	}

	// The newest segment: the one that ends at what was confirmed.
	newest := func(t *testing.T, vd string) uint64 {
		t.Helper()
		mans, _ := filepath.Glob(filepath.Join(vd, "store", "manifests", "*.json"))
		last := mans[len(mans)-1]
		var m struct {
			First   uint64
			Segment string
		}
		if err := json.Unmarshal([]byte(readFile(t, last)), &m); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{last, strings.TrimSuffix(last, ".json") + ".cosigned", filepath.Join(vd, "store", "segments", m.Segment+".age")} {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
		return m.First
	}
	type report struct {
		OK             bool     `json:"ok"`
		Faults         []string `json:"faults"`
		Events         uint64   `json:"events"`
		Error          string   `json:"error"`
		MissingEvents  uint64   `json:"missing_events"`
		ExpectedEvents uint64   `json:"expected_events"`
	}
	restore := func(t *testing.T, vd string, extra ...string) (report, string, int) {
		t.Helper()
		to := filepath.Join(t.TempDir(), "restored")
		out, stderr, code := kavach(t, append([]string{"restore", "--vault", vd, "--identity", idFile, "--to", to, "--json"}, extra...)...)
		var r report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("restore --json: %v: %q %s", err, out, stderr)
		}
		return r, to, code
	}
	scrub := func(t *testing.T, vd string, extra ...string) (report, int) {
		t.Helper()
		out, stderr, code := kavach(t, append([]string{"vault", "scrub", "--data", vd, "--json"}, extra...)...)
		var r report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("scrub --json: %v: %q %s", err, out, stderr)
		}
		return r, code
	}

	t.Run("OK", func(t *testing.T) {
		if r, code := scrub(t, vdir); code != 0 || !r.OK {
			t.Fatalf("scrub: exit %d %+v", code, r)
		}
		r, _, code := restore(t, vdir)
		if code != 0 || !r.OK || r.Events != confirmed || r.MissingEvents != 0 || r.ExpectedEvents != confirmed {
			t.Fatalf("restore: exit %d %+v", code, r)
		}
	})
	t.Run("ErrNewestDeleted", func(t *testing.T) {
		vd := filepath.Join(t.TempDir(), "vault")
		copyDir(t, vdir, vd)
		left := newest(t, vd)
		missing := confirmed - left
		r, code := scrub(t, vd)
		want := fmt.Sprintf("events %d..%d are missing", left, confirmed-1)
		if code != 1 || r.OK || !strings.Contains(strings.Join(r.Faults, "\n"), want) {
			t.Fatalf("scrub: exit %d %+v; want a fault %q", code, r, want)
		}
		r, to, code := restore(t, vd)
		if code != 1 || r.OK || r.MissingEvents != missing || !strings.Contains(r.Error, fmt.Sprintf("%d events are missing", missing)) || !strings.Contains(r.Error, "--accept-missing") {
			t.Fatalf("restore: exit %d %+v", code, r)
		}
		if _, err := os.Stat(to); err == nil {
			t.Fatal("a refused restore left a node behind")
		}
		r, to, code = restore(t, vd, "--accept-missing")
		if code != 0 || !r.OK || r.Events != left || r.MissingEvents != missing || r.ExpectedEvents != confirmed {
			t.Fatalf("restore --accept-missing: exit %d %+v", code, r)
		}
		if out, stderr, code := kavach(t, "verify", "--data", to, "--json"); code != 0 {
			t.Fatalf("verify what was restored: exit %d %s %s", code, out, stderr)
		}
		// The vault, started again, is damaged and says what is missing.
		v := startVaultProc(t, "--data", vd, "--token-file", tokenFile, "--recipient", id.Recipient().String(), "--wait", "1s")
		var st vaultStatusJSON
		waitUntil(t, "damaged", v.logs, func() bool {
			st, code = vaultStatus(t, vd)
			return code == 1 && st.State == "damaged" && st.VaultRunning
		})
		if !strings.Contains(strings.Join(st.Alerts, "\n"), want) || st.Events != left {
			t.Fatalf("the vault after its newest files were deleted: %+v", st)
		}
		v.stop(t)
	})
	t.Run("ErrStoreDeleted", func(t *testing.T) {
		vd := filepath.Join(t.TempDir(), "vault")
		copyDir(t, vdir, vd)
		if err := os.RemoveAll(filepath.Join(vd, "store")); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("events 0..%d are missing", confirmed-1)
		if r, code := scrub(t, vd); code != 1 || r.OK || !strings.Contains(strings.Join(r.Faults, "\n"), want) {
			t.Fatalf("scrub: exit %d %+v; want a fault %q", code, r, want)
		}
		if r, _, code := restore(t, vd); code != 1 || r.OK || r.MissingEvents != confirmed || !strings.Contains(r.Error, "--from-s3") {
			t.Fatalf("restore: exit %d %+v", code, r)
		}
	})
	t.Run("ErrRecordsDeletedToo", func(t *testing.T) {
		// The attacker deletes confirmed.json and status.json as well:
		// only the node's record is left, given with --expect-events.
		vd := filepath.Join(t.TempDir(), "vault")
		copyDir(t, vdir, vd)
		left := newest(t, vd)
		for _, f := range []string{"confirmed.json", "status.json"} {
			if err := os.Remove(filepath.Join(vd, f)); err != nil {
				t.Fatal(err)
			}
		}
		code, b := call(t, "GET", s.url+"/api/v1/status", login(t, s, "admin"), nil)
		var ns struct {
			Vaults []struct {
				Name   string
				Events uint64
			}
		}
		if json.Unmarshal(b, &ns); code != 200 || len(ns.Vaults) != 1 || ns.Vaults[0].Events != confirmed {
			t.Fatalf("the node's record of the vault: %d %s; want %d events", code, b, confirmed)
		}
		expect := strconv.FormatUint(ns.Vaults[0].Events, 10)
		if r, _, code := restore(t, vd, "--expect-events", expect); code != 1 || r.MissingEvents != confirmed-left || !strings.Contains(r.Error, "--expect-events") {
			t.Fatalf("restore --expect-events %s: exit %d %+v", expect, code, r)
		}
		if r, _, code := restore(t, vd, "--expect-events", expect, "--accept-missing"); code != 0 || r.Events != left || r.MissingEvents != confirmed-left {
			t.Fatalf("restore --expect-events %s --accept-missing: exit %d %+v", expect, code, r)
		}
	})
}
