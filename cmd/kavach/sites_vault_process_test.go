package main

import (
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"
)

// vaultOrigins is what kavach vault status --json says of the other nodes'
// journals the vault pulls through its node.
type vaultOrigins struct {
	State   string `json:"state"`
	Events  uint64 `json:"events"`
	Origins map[string]struct {
		State  string `json:"state"`
		Events uint64 `json:"events"`
	} `json:"origins"`
}

func vaultOriginStatus(t *testing.T, dir string) vaultOrigins {
	t.Helper()
	out, stderr, _ := kavach(t, "vault", "status", "--data", dir, "--json")
	var st vaultOrigins
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("vault status --json: %v: %q %s", err, out, stderr)
	}
	return st
}

// centralStatus is a node's GET /api/v1/status, as its admin reads it.
type centralStatus struct {
	Node     string
	Verifier string
	Events   uint64
	Origins  map[string]uint64
}

func adminStatus(t *testing.T, s *server) centralStatus {
	t.Helper()
	code, b := call(t, "GET", s.url+"/api/v1/status", login(t, s, "admin"), nil)
	var st centralStatus
	if code != 200 || json.Unmarshal(b, &st) != nil {
		t.Fatalf("status: %d %s", code, b)
	}
	return st
}

// TestSitesVaultProcess: a central and a site as real processes, and a
// vault pulling the central, which holds the site's journal. The site
// registers patients, some before the vault stops, some after; the central
// is destroyed (SIGKILL, its directory deleted) and restored from the vault
// with kavach restore, which restores the site's journal as the vault held
// it. The central starts again at the same address with a new key; once
// the site's administrator approves that key (and the vault's, so that the
// vault goes on), the site sends again what the vault had not stored, and
// the restored central ends holding all of the site's events: the same
// origins on both, every patient reading the same on both, verify ok.
func TestSitesVaultProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two nodes and a vault")
	}
	tmp := t.TempDir()
	cdir, sdir, vdir := filepath.Join(tmp, "central"), filepath.Join(tmp, "site"), filepath.Join(tmp, "vault")
	central := startServer(t, cdir, "--demo")
	px := newProxy(t) // the central's one address, across its restore
	px.to(central.url)
	out, err := exec.Command(binary(t), "site", "add", "--data", cdir, "--code", "KB", "--name", "Counter KB").Output()
	if err != nil {
		t.Fatalf("site add: %v %s", err, out)
	}
	enrol := filepath.Join(tmp, "KB.token")
	os.WriteFile(enrol, out, 0o600)
	site := startServer(t, sdir, "--upstream", px.url(), "--enroll-token", enrol)

	id, _ := age.GenerateX25519Identity()
	idFile := filepath.Join(tmp, "identity.txt")
	os.WriteFile(idFile, []byte(id.String()+"\n"), 0o600)
	tokenFile := replicationToken(t, cdir)
	vaultArgs := []string{"--data", vdir, "--source", px.url(), "--token-file", tokenFile, "--recipient", id.Recipient().String(), "--wait", "1s", "--name", "vault-sites"}
	v := startVaultProc(t, vaultArgs...)
	var vst vaultStatusJSON
	waitUntil(t, "the vault's first pull", v.logs, func() bool { vst, _ = vaultStatus(t, vdir); return vst.Events > 0 })
	// The central passes its own events on to the site only once this
	// vault has them: a restore from it then brings back all the site holds.
	if out, stderr, code := kavach(t, "vaults", "add", "--data", cdir, "--name", "vault-sites", "--key", vst.CosignKey); code != 0 {
		t.Fatalf("vaults add: %d %s %s", code, out, stderr)
	}

	// Before the vault stops: the site's patients reach the central and the vault.
	counter := siteCounter{site, login(t, site, "registration")}
	visits := registerMany(t, counter, 40, 0)
	var siteEvents uint64
	waitUntil(t, "the vault to hold the site's journal as the central does", v.logs, func() bool {
		siteEvents = adminStatus(t, site).Events
		vs := vaultOriginStatus(t, vdir)
		return adminStatus(t, central).Origins["KB"] == siteEvents && vs.State == "ok" && vs.Origins["KB"].Events == siteEvents && vs.Origins["KB"].State == "ok"
	})
	v.stop(t)

	// After: the central holds them, the vault does not.
	maps.Copy(visits, registerMany(t, counter, 25, 1000))
	waitUntil(t, "the central to hold the site's new events", central.logs, func() bool {
		siteEvents = adminStatus(t, site).Events
		return adminStatus(t, central).Origins["KB"] == siteEvents
	})
	vs := vaultOriginStatus(t, vdir)
	inVault := vs.Origins["KB"].Events
	if inVault >= siteEvents {
		t.Fatalf("the vault holds %d of the site's events, the site has %d", inVault, siteEvents)
	}
	t.Logf("the site has %d events; the vault holds %d of them, the central all", siteEvents, inVault)

	// The central is destroyed, and restored from the vault.
	central.cmd.Process.Signal(syscall.SIGKILL)
	central.cmd.Wait()
	if err := os.RemoveAll(cdir); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out2, stderr, code := kavach(t, "restore", "--vault", vdir, "--identity", idFile, "--to", cdir, "--json")
	var rr struct {
		OK          bool
		Events      uint64
		NewVerifier string `json:"new_verifier"`
		Origins     map[string]uint64
		Waiting     map[string]uint64
		Notes       []string
	}
	if err := json.Unmarshal([]byte(out2), &rr); err != nil || code != 0 || !rr.OK || rr.Events != vs.Events || rr.Origins["KB"] != inVault || len(rr.Waiting) != 0 || len(rr.Notes) != 0 {
		t.Fatalf("restore: exit %d %s %s", code, out2, stderr)
	}
	t.Logf("restored the central (%d events) and the site's journal as the vault held it (%d events) in %s", rr.Events, rr.Origins["KB"], time.Since(start).Round(time.Millisecond))
	central = startServer(t, cdir)
	px.to(central.url)
	if st := adminStatus(t, central); st.Verifier != rr.NewVerifier || st.Origins["KB"] != inVault {
		t.Fatalf("the restored central: %+v", st)
	}

	// The site's administrator approves the restored central's new key, and
	// so does the vault's, whose vault goes on with a new token.
	if out, stderr, code := kavach(t, "site", "approve-key", "--data", sdir, "--origin", "KA", "--key", rr.NewVerifier); code != 0 {
		t.Fatalf("site approve-key: %d %s %s", code, out, stderr)
	}
	if out, stderr, code := kavach(t, "vault", "approve-key", "--data", vdir, "--key", rr.NewVerifier); code != 0 {
		t.Fatalf("vault approve-key: %d %s %s", code, out, stderr)
	}
	os.WriteFile(tokenFile, []byte(strings.TrimSpace(readFile(t, replicationToken(t, cdir)))), 0o600)
	v = startVaultProc(t, vaultArgs...)

	nodes := []siteCounter{{central, login(t, central, "registration")}, {site, login(t, site, "registration")}}
	took := converge(t, 30*time.Second, nodes...)
	t.Logf("the restored central and the site converged %s after the approvals", took.Round(time.Millisecond))
	// (The site has written since: logins, causal markers.)
	if st := adminStatus(t, central); st.Origins["KB"] < siteEvents {
		t.Fatalf("the restored central holds %d of the site's events, the site had %d when the central was destroyed", st.Origins["KB"], siteEvents)
	}
	// Sessions ended with the restore: log in again where they did.
	nodes = []siteCounter{{site, login(t, site, "registration")}, {central, login(t, central, "registration")}}
	checkUnique(t, visits, 65)
	sameReads(t, visits, nodes)
	waitUntil(t, "the vault to hold the site's journal again as the central does", v.logs, func() bool {
		vs := vaultOriginStatus(t, vdir)
		return vs.State == "ok" && vs.Origins["KB"].Events == adminStatus(t, central).Origins["KB"]
	})
	v.stop(t)
	for _, dir := range []string{cdir, sdir} {
		out, stderr, code := kavach(t, "verify", "--data", dir, "--json")
		if code != 0 || !strings.Contains(out, `"ok":true`) {
			t.Errorf("verify %s: exit %d %s %s", dir, code, out, stderr)
		}
	}
	if out, _, code := kavach(t, "vault", "scrub", "--data", vdir, "--json"); code != 0 || !strings.Contains(out, `"ok":true`) {
		t.Errorf("vault scrub: exit %d %s", code, out)
	}
}
