package main

import (
	"bufio"
	"bytes"
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
	"testing"
	"time"
)

// These tests run the real binary as separate processes and kill them.

var buildOnce struct {
	sync.Once
	path string
	err  error
}

func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kavach-bin-*")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "kavach")
		out, err := exec.Command("go", "build", "-o", buildOnce.path, ".").CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

type server struct {
	cmd  *exec.Cmd
	url  string
	hl7  string // the analysers' MLLP address, with --hl7-addr
	logs *bytes.Buffer
}

const testPassword = "test-password-1"

func startServer(t *testing.T, dir string, extra ...string) *server {
	t.Helper()
	args := append([]string{"serve", "--data", dir, "--addr", "127.0.0.1:0"}, extra...)
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), "KAVACH_ADMIN_PASSWORD="+testPassword, "KAVACH_DEMO_PASSWORD="+testPassword)
	stdout, _ := cmd.StdoutPipe()
	logs := &bytes.Buffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	deadline := time.After(30 * time.Second)
	found := make(chan [2]string, 1)
	go func() {
		hl7 := ""
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "analysers (HL7 over MLLP) on "); ok {
				hl7 = a
			}
			if u, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				found <- [2]string{u, hl7}
			}
		}
	}()
	select {
	case u := <-found:
		return &server{cmd: cmd, url: u[0], hl7: u[1], logs: logs}
	case <-deadline:
		t.Fatalf("server did not start: %s", logs)
	}
	return nil
}

func call(t *testing.T, method, url, token string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, r)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func login(t *testing.T, s *server, user string) string {
	t.Helper()
	code, b := call(t, "POST", s.url+"/api/v1/login", "", map[string]string{"username": user, "password": testPassword})
	if code != 200 {
		t.Fatalf("login %s: %d %s", user, code, b)
	}
	var out struct{ Token string }
	json.Unmarshal(b, &out)
	return out.Token
}

func patient(i int) map[string]any {
	return map[string]any{"name": fmt.Sprintf("Crash Test %c%c", 'A'+i%26, 'a'+i/26%26), "sex": "F", "age_years": 30 + i%40,
		"mobile": fmt.Sprintf("97%08d", i), "address": "Ward 7, Block C", "guardian_name": "Ram Lal"}
}

// TestKillMidWrite kills the server with SIGKILL while clients register
// patients, restarts it, and finds every acknowledged registration.
func TestKillMidWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, dir, "--demo")
	token := login(t, s, "registration")

	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := 0; c < 16; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := c; ; i += 16 {
				select {
				case <-stop:
					return
				default:
				}
				code, b := call(t, "POST", s.url+"/api/v1/patients", token, patient(i))
				if code != 201 {
					continue // the server died under us: not acknowledged
				}
				var p struct{ UHID string }
				json.Unmarshal(b, &p)
				mu.Lock()
				acked = append(acked, p.UHID)
				mu.Unlock()
			}
		}(c)
	}
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 200 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
	close(stop)
	wg.Wait()

	s2 := startServer(t, dir)
	token = login(t, s2, "registration")
	for _, u := range acked {
		if code, b := call(t, "GET", s2.url+"/api/v1/patients/"+u, token, nil); code != 200 {
			t.Fatalf("acknowledged patient %s lost after SIGKILL: %d %s", u, code, b)
		}
	}
	// SIGTERM finishes and exits 0.
	s2.cmd.Process.Signal(syscall.SIGTERM)
	if err := s2.cmd.Wait(); err != nil {
		t.Fatalf("serve after SIGTERM: %v\n%s", err, s2.logs)
	}
	out, err := exec.Command(binary(t), "verify", "--data", dir, "--json").Output()
	if err != nil {
		t.Fatalf("verify after SIGKILL: %v\n%s", err, out)
	}
	var rep struct {
		OK     bool
		Events int
	}
	if err := json.Unmarshal(out, &rep); err != nil || !rep.OK || rep.Events < len(acked) {
		t.Fatalf("verify: %s", out)
	}
	t.Logf("%d registrations acknowledged before SIGKILL, all present; %d events verify", len(acked), rep.Events)
}

// TestToolsWhileServing adds and disables a user and makes a replication
// token with the command line while the server runs on the same directory.
func TestToolsWhileServing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, dir, "--demo")
	bin := binary(t)
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte("clerk-password-9\n"), 0o600)
	run := func(args ...string) (string, int) {
		cmd := exec.Command(bin, args...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return string(out), code
	}
	// A second node process on the same directory is refused, before it
	// finds the first one's port taken; the tools are not.
	if out, code := run("serve", "--data", dir, "--addr", strings.TrimPrefix(s.url, "http://")); code != 2 || !strings.Contains(out, "another 'kavach serve' is running") {
		t.Fatalf("second serve on the same directory: %d %s", code, out)
	}
	if out, code := run("user", "add", "--data", dir, "--username", "clerk2", "--role", "registration", "--password-file", pwFile); code != 0 {
		t.Fatalf("user add: %d %s", code, out)
	}
	code, b := call(t, "POST", s.url+"/api/v1/login", "", map[string]string{"username": "clerk2", "password": "clerk-password-9"})
	if code != 200 {
		t.Fatalf("new user cannot log in to the running server: %d %s", code, b)
	}
	var tok struct{ Token string }
	json.Unmarshal(b, &tok)
	if out, code := run("user", "add", "--data", dir, "--username", "clerk2", "--role", "registration", "--password-file", pwFile); code != 1 || !strings.Contains(out, "exists") {
		t.Fatalf("adding a user twice: %d %s", code, out)
	}
	if out, code := run("user", "add", "--data", dir, "--username", "x", "--role", "surgeon", "--password-file", pwFile); code != 2 || !strings.Contains(out, "role") {
		t.Fatalf("bad role: %d %s", code, out)
	}
	if out, code := run("user", "disable", "--data", dir, "--username", "clerk2"); code != 0 {
		t.Fatalf("user disable: %d %s", code, out)
	}
	// The server trusts a session for at most 2 s from memory: the token
	// must be refused by then (and some slack for a busy machine).
	disabled := time.Now()
	for code := 0; code != 401; {
		if time.Since(disabled) > 5*time.Second {
			t.Fatalf("a disabled user's token still works %v after the user was disabled: %d", time.Since(disabled).Round(time.Millisecond), code)
		}
		time.Sleep(50 * time.Millisecond)
		code, _ = call(t, "GET", s.url+"/api/v1/patients?q=ram", tok.Token, nil)
	}
	out, code := run("user", "list", "--data", dir, "--json")
	if code != 0 || !strings.Contains(out, `"clerk2"`) {
		t.Fatalf("user list: %d %s", code, out)
	}
	out, code = run("token", "--data", dir, "--scope", "replicate", "--json")
	var tk struct{ Token string }
	if code != 0 || json.Unmarshal([]byte(out), &tk) != nil || !strings.HasPrefix(tk.Token, "kvr_") {
		t.Fatalf("token: %d %s", code, out)
	}
	if _, code := run("token", "--data", dir, "--scope", "admin"); code != 2 {
		t.Fatalf("token with a bad scope exits %d, want 2", code)
	}
	if _, code := run("frobnicate"); code != 2 {
		t.Fatalf("unknown command exits %d, want 2", code)
	}
	if out, code := run("verify", "--help"); code != 0 || !strings.Contains(out, "Usage") {
		t.Fatalf("verify --help: %d %s", code, out)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()
	if out, code := run("verify", "--data", dir); code != 0 {
		t.Fatalf("verify: %d %s", code, out)
	}
}

// Every file of a serving node's directory is its user's alone, the WAL and
// the shared-memory file beside the database too, whatever umask the
// service starts with.
func TestFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node")
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	s := startServer(t, dir, "--demo")
	register(t, s, 0, 1)
	for _, f := range []string{"kavach.db", "kavach.db-wal", "kavach.db-shm", "node.key"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: mode %v, want no access for group or others", f, fi.Mode().Perm())
		}
	}
}
