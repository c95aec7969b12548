// Package drill is the ransomware drill: on one machine, in temporary
// directories and separate processes, it runs a node and a vault, drives
// registrations at the node, encrypts the node's data directory as
// ransomware does, tries destructive requests with the node's credentials,
// restores from the vault onto a fresh directory, starts a node there and
// checks through the API that every acknowledged registration the vault had
// cosigned is back, identical.
package drill

import (
	"bufio"
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"filippo.io/age"
)

// Config sets up a drill.
type Config struct {
	Binary   string        // the kavach binary to run (os.Executable() by default)
	Load     time.Duration // how long registrations run before the attack
	Clients  int
	WorkDir  string // where the temporary directories go
	Progress io.Writer
}

// Check is one thing the drill verified.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// Report is the drill's outcome.
type Report struct {
	OK              bool    `json:"ok"`
	Acknowledged    int     `json:"registrations_acknowledged"`
	Covered         int     `json:"registrations_covered_by_vault"`
	EventsLost      int     `json:"events_lost"`
	LagWindow       int     `json:"registrations_in_lag_window"`
	LagSeconds      float64 `json:"lag_window_seconds"`
	VaultEvents     uint64  `json:"vault_events"`
	RestoredEvents  uint64  `json:"restored_events"`
	RTOSeconds      float64 `json:"rto_seconds"`
	RestoreSeconds  float64 `json:"restore_seconds"`
	FilesEncrypted  int     `json:"files_encrypted"`
	Checks          []Check `json:"checks"`
	LastEventTime   string  `json:"last_event_time"`
	VaultCheckpoint string  `json:"vault_checkpoint"`
}

func (r *Report) check(name string, ok bool, format string, args ...any) {
	r.Checks = append(r.Checks, Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
	if !ok {
		r.OK = false
	}
}

const password = "drill-password-1"

type proc struct {
	cmd  *exec.Cmd
	logs *bytes.Buffer
	url  string
}

func (d *drill) start(ctx context.Context, wantURL bool, args ...string) (*proc, error) {
	cmd := exec.CommandContext(ctx, d.cfg.Binary, args...)
	cmd.Env = append(os.Environ(), "KAVACH_ADMIN_PASSWORD="+password, "KAVACH_DEMO_PASSWORD="+password)
	p := &proc{cmd: cmd, logs: &bytes.Buffer{}}
	cmd.Stderr = &lockedWriter{w: p.logs}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	d.procs = append(d.procs, p)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				found <- u
			}
		}
	}()
	if !wantURL {
		return p, nil
	}
	select {
	case p.url = <-found:
		return p, nil
	case <-time.After(60 * time.Second):
		return nil, fmt.Errorf("drill: %s did not start: %s", args[0], p.logs)
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

type drill struct {
	cfg   Config
	procs []*proc
	http  *http.Client
}

func (d *drill) say(format string, args ...any) {
	if d.cfg.Progress != nil {
		fmt.Fprintf(d.cfg.Progress, "drill: "+format+"\n", args...)
	}
}

func (d *drill) call(method, url, token string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := d.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func (d *drill) login(url, user string) (string, error) {
	code, b, err := d.call("POST", url+"/api/v1/login", "", map[string]string{"username": user, "password": password})
	if err != nil || code != 200 {
		return "", fmt.Errorf("drill: login %s: %d %s %v", user, code, b, err)
	}
	var out struct{ Token string }
	json.Unmarshal(b, &out)
	return out.Token, nil
}

func (d *drill) run(args ...string) ([]byte, error) {
	cmd := exec.Command(d.cfg.Binary, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s: %v: %s", args[0], err, stderr.String())
	}
	return out, nil
}

type vaultStatus struct {
	State          string   `json:"state"`
	Events         uint64   `json:"events"`
	LastCheckpoint string   `json:"last_checkpoint"`
	Alerts         []string `json:"alerts"`
}

func (d *drill) vaultStatus(dir string) (vaultStatus, error) {
	var st vaultStatus
	cmd := exec.Command(d.cfg.Binary, "vault", "status", "--data", dir, "--json")
	out, _ := cmd.Output() // exit 1 when not ok: the JSON still says why
	if err := json.Unmarshal(out, &st); err != nil {
		return st, fmt.Errorf("drill: vault status: %q: %w", out, err)
	}
	return st, nil
}

// Run runs the drill.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		cfg.Binary = exe
	}
	if cfg.Load <= 0 {
		cfg.Load = 3 * time.Second
	}
	if cfg.Clients <= 0 {
		cfg.Clients = 8
	}
	work, err := os.MkdirTemp(cfg.WorkDir, "kavach-drill-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	d := &drill{cfg: cfg, http: &http.Client{Timeout: 30 * time.Second}}
	defer func() {
		for _, p := range d.procs {
			if p.cmd.ProcessState == nil {
				p.cmd.Process.Kill()
				p.cmd.Wait()
			}
		}
	}()
	rep := &Report{OK: true}
	nodeDir, vaultDir, restoredDir := filepath.Join(work, "node"), filepath.Join(work, "vault"), filepath.Join(work, "restored")

	// 1. A node and a vault, and registration load.
	d.say("starting a node and a vault in %s", work)
	node, err := d.start(ctx, true, "serve", "--data", nodeDir, "--addr", "127.0.0.1:0", "--demo")
	if err != nil {
		return nil, err
	}
	tok, err := d.run("token", "--data", nodeDir, "--scope", "replicate")
	if err != nil {
		return nil, err
	}
	tokenFile := filepath.Join(work, "replicate.token")
	os.WriteFile(tokenFile, tok, 0o600)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, err
	}
	idFile := filepath.Join(work, "identity.txt") // in real life: paper in a safe
	os.WriteFile(idFile, []byte(id.String()+"\n"), 0o600)
	vlt, err := d.start(ctx, false, "vault", "--data", vaultDir, "--source", node.url, "--token-file", tokenFile, "--recipient", id.Recipient().String())
	if err != nil {
		return nil, err
	}
	token, err := d.login(node.url, "registration")
	if err != nil {
		return nil, err
	}
	d.say("registering patients for %s with %d clients", cfg.Load, cfg.Clients)
	type acked struct {
		UHID string
		Body map[string]any
	}
	var mu sync.Mutex
	var acks []acked
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := 0; c < cfg.Clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := c; ; i += cfg.Clients {
				select {
				case <-stop:
					return
				default:
				}
				code, b, err := d.call("POST", node.url+"/api/v1/patients", token, patient(i))
				if err != nil || code != 201 {
					continue
				}
				var p map[string]any
				json.Unmarshal(b, &p)
				uhid, _ := p["uhid"].(string)
				d.call("POST", node.url+"/api/v1/opd-visits", token, map[string]string{"uhid": uhid, "department": "MED"})
				mu.Lock()
				acks = append(acks, acked{uhid, p})
				mu.Unlock()
			}
		}(c)
	}
	time.Sleep(cfg.Load)

	// 2. With the node's replication token, which an attacker on the node
	// holds, try to destroy the backup.
	d.destructive(rep, node.url, string(bytes.TrimSpace(tok)), vlt)

	// 3. The ransomware: it kills the database service (as ransomware does,
	// to get at files in use), encrypts every file in the node's data
	// directory in place and renames it.
	attack := time.Now()
	node.cmd.Process.Signal(syscall.SIGKILL)
	node.cmd.Wait()
	close(stop)
	wg.Wait()
	n, err := encryptDir(nodeDir)
	rep.FilesEncrypted = n
	rep.Acknowledged = len(acks)
	rep.check("ransomware encrypted the node's data", err == nil && n > 0, "%d files encrypted and renamed to .locked%s", n, errText(err))
	if _, err := os.Stat(filepath.Join(nodeDir, "kavach.db")); err == nil {
		rep.check("node database gone", false, "kavach.db still readable")
	}

	// 4. Restore from the vault onto a fresh directory and start a node.
	time.Sleep(1500 * time.Millisecond) // the vault notices the node is gone
	st, err := d.vaultStatus(vaultDir)
	if err != nil {
		return nil, err
	}
	rep.VaultEvents, rep.VaultCheckpoint = st.Events, st.LastCheckpoint
	rep.check("vault kept its history", st.Events > 0 && st.State != "fork-detected", "state %s, %d events", st.State, st.Events)
	vlt.cmd.Process.Signal(syscall.SIGTERM)
	vlt.cmd.Wait()
	out, err := d.run("vault", "scrub", "--data", vaultDir, "--json")
	rep.check("vault scrub after the attack", err == nil, "%s", bytes.TrimSpace(out))
	d.say("restoring from the vault")
	rstart := time.Now()
	out, err = d.run("restore", "--vault", vaultDir, "--identity", idFile, "--to", restoredDir, "--json")
	rep.RestoreSeconds = time.Since(rstart).Seconds()
	var rr struct {
		OK            bool   `json:"ok"`
		Events        uint64 `json:"events"`
		LastEventTime string `json:"last_event_time"`
	}
	json.Unmarshal(out, &rr)
	rep.RestoredEvents, rep.LastEventTime = rr.Events, rr.LastEventTime
	rep.check("restore verified every event and checkpoint", err == nil && rr.OK, "%s%s", bytes.TrimSpace(out), errText(err))
	if err != nil {
		return rep, nil
	}
	restored, err := d.start(ctx, true, "serve", "--data", restoredDir, "--addr", "127.0.0.1:0")
	if err != nil {
		rep.check("restored node serves", false, "%v", err)
		return rep, nil
	}
	rep.RTOSeconds = time.Since(attack).Seconds()
	rep.check("restored node serves", true, "serving %.1fs after the attack", rep.RTOSeconds)

	// 5. Every acknowledged registration up to the vault's checkpoint is
	// there and identical.
	token, err = d.login(restored.url, "registration")
	rep.check("users restored", err == nil, "registration user logs in on the restored node%s", errText(err))
	if err != nil {
		return rep, nil
	}
	last, _ := time.Parse(time.RFC3339Nano, rr.LastEventTime)
	var lagFirst time.Time
	for _, a := range acks {
		regAt, _ := time.Parse("2006-01-02T15:04:05.000000Z", fmt.Sprint(a.Body["registered_at"]))
		code, b, err := d.call("GET", restored.url+"/api/v1/patients/"+a.UHID, token, nil)
		if regAt.After(last) {
			// Acknowledged after the vault's last checkpoint: the lag window.
			rep.LagWindow++
			if lagFirst.IsZero() || regAt.Before(lagFirst) {
				lagFirst = regAt
			}
			continue
		}
		rep.Covered++
		if err != nil || code != 200 {
			rep.EventsLost++
			continue
		}
		var got map[string]any
		json.Unmarshal(b, &got)
		for _, k := range []string{"uhid", "name", "sex", "date_of_birth", "mobile", "address", "guardian_name", "registered_at", "registered_by"} {
			if fmt.Sprint(got[k]) != fmt.Sprint(a.Body[k]) {
				rep.EventsLost++
				rep.check("registration identical", false, "%s: %s is %v, was %v", a.UHID, k, got[k], a.Body[k])
				break
			}
		}
	}
	if !lagFirst.IsZero() {
		rep.LagSeconds = attack.Sub(lagFirst).Seconds()
	}
	rep.check("no acknowledged registration lost up to the vault's checkpoint", rep.EventsLost == 0 && rep.Covered > 0,
		"%d covered, %d lost; %d acknowledged in the last %.2fs before the attack were not yet in the vault", rep.Covered, rep.EventsLost, rep.LagWindow, rep.LagSeconds)
	code, b, _ := d.call("POST", restored.url+"/api/v1/patients", token, patient(999999))
	var np struct{ UHID string }
	json.Unmarshal(b, &np)
	reused := false
	for _, a := range acks {
		reused = reused || a.UHID == np.UHID
	}
	rep.check("restored node registers without reusing a UHID", code == 201 && !reused, "new UHID %s", np.UHID)
	restored.cmd.Process.Signal(syscall.SIGTERM)
	restored.cmd.Wait()
	out, err = d.run("verify", "--data", restoredDir, "--json")
	rep.check("verify on the restored node", err == nil, "%s", bytes.TrimSpace(out))
	return rep, nil
}

// destructive tries, with the node's replication token, everything that
// could delete or change a backup.
func (d *drill) destructive(rep *Report, nodeURL, token string, vlt *proc) {
	// The vault listens on no port: there is nothing to send a request to.
	ports := listeningPorts(vlt.cmd.Process.Pid)
	rep.check("vault offers no network endpoint", len(ports) == 0, "listening sockets of the vault process: %v", ports)
	// The token reads the journal and reports what a vault holds; nothing
	// else. Every other use is refused.
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{"DELETE", "/api/v1/replicate/events", nil},
		{"PUT", "/api/v1/replicate/events", map[string]any{"from": 0}},
		{"POST", "/api/v1/replicate/events", map[string]any{"from": 0}},
		{"DELETE", "/api/v1/replicate/cosignature", nil},
		{"POST", "/api/v1/replicate/cosignature", map[string]string{"vault": "evil", "checkpoint": "kavach/KVH/KA\n0\nAAAA\n"}},
		{"GET", "/api/v1/replicate/events?from=999999999", nil}, // a rollback as seen by a vault: answered with no events
		{"POST", "/api/v1/patients", patient(1)},
		{"POST", "/api/v1/users", map[string]string{"username": "evil", "role": "admin", "password": "evil-password"}},
		{"GET", "/api/v1/patients?q=ram", nil},
	} {
		code, b, err := d.call(r.method, nodeURL+r.path, token, r.body)
		ok := err == nil && code >= 400
		name := "refused: " + r.method + " " + r.path
		if strings.HasPrefix(r.path, "/api/v1/replicate/events?from=") {
			// Not an error to ask: the answer is simply no events.
			ok = err == nil && code == 200 && !bytes.Contains(b, []byte(`"data"`))
			name = "no events beyond the journal: " + r.method + " " + r.path
		}
		rep.check(name, ok, "status %d", code)
	}
}

func patient(i int) map[string]any {
	first := []string{"Ramesh", "Sunita", "Mohd Irfan", "Laxmi", "Vikas", "Pooja", "Arjun", "Kavita"}
	last := []string{"Kumar", "Devi", "Khan", "Sharma", "Yadav", "Gupta", "Singh", "Verma"}
	return map[string]any{"name": fmt.Sprintf("%s %s", first[i%8], last[i/8%8]), "sex": []string{"M", "F"}[i%2],
		"age_years": 20 + i%60, "mobile": fmt.Sprintf("9%09d", 100000000+i), "address": fmt.Sprintf("House %d, Sector %d", i, i%40),
		"guardian_name": "Shyam Lal"}
}

// encryptDir does what ransomware does: every file is encrypted in place
// with a key the hospital never sees, and renamed with a new extension.
func encryptDir(dir string) (int, error) {
	key := make([]byte, 32)
	rand.Read(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		return 0, err
	}
	n := 0
	err = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		iv := make([]byte, aes.BlockSize)
		rand.Read(iv)
		cipher.NewCTR(block, iv).XORKeyStream(b, b)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			return err
		}
		n++
		return os.Rename(p, p+".locked")
	})
	return n, err
}

// listeningPorts lists the TCP ports a process listens on (Linux /proc).
func listeningPorts(pid int) []string {
	inodes := map[string]bool{}
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, fd := range fds {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.Trim(l[7:], "[]")] = true
		}
	}
	var ports []string
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, _ := os.ReadFile(f)
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) > 9 && fs[3] == "0A" && inodes[fs[9]] { // 0A: LISTEN
				ports = append(ports, fs[1])
			}
		}
	}
	return ports
}

// errText is ": err" or nothing, for a check's detail.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return ": " + err.Error()
}
