// Package s3test runs a real S3 server with Object Lock for tests: versitygw
// on its posix backend, which scripts/test.sh installs.
package s3test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// The root account of the server Start runs, and the bucket tests make.
const (
	Access = "kavach-vault"
	Secret = "kavach-vault-secret-key"
	Bucket = "kavach-vault"
)

// binary returns versitygw: $KAVACH_VERSITYGW (set by scripts/test.sh, which
// installs it), else one on PATH. Without it the test is skipped, unless $CI
// is set.
func binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("KAVACH_VERSITYGW"); p != "" {
		return p
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	msg := "versitygw not found: run scripts/test.sh, which installs it, or set KAVACH_VERSITYGW"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// Start runs versitygw on the posix backend in a temporary directory, on a
// free loopback port, with Access/Secret as its root account, until the test
// ends, and returns its host:port. With versioned, buckets keep versions as
// AWS does under Object Lock; without, versitygw locks the one object in
// place.
func Start(t testing.TB, versioned bool) string {
	t.Helper()
	return StartServer(t, versioned).Addr
}

// Server is a versitygw that Start runs, for a test that takes it down.
type Server struct {
	Addr string
	t    testing.TB
	args []string
	logf string
	mu   sync.Mutex
	stop func() // kills the process and waits for it; nil while stopped
}

// StartServer is Start, returning the server.
func StartServer(t testing.TB, versioned bool) *Server {
	t.Helper()
	tmp := t.TempDir()
	root, versions := filepath.Join(tmp, "root"), filepath.Join(tmp, "versions")
	for _, d := range []string{root, versions} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	args := []string{"--port", addr, "--quiet", "posix"}
	if versioned {
		// Outside the root, which versitygw requires.
		args = append(args, "--versioning-dir", versions)
	}
	args = append(args, root)
	s := &Server{Addr: addr, t: t, args: args, logf: filepath.Join(tmp, "versitygw.log")}
	t.Cleanup(s.Stop)
	s.Restart()
	return s
}

// Stop kills the server, as an outage of S3 would; what it stored stays.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stop != nil {
		s.stop()
		s.stop = nil
	}
}

// Restart starts the server again after Stop, on the same address with the
// same data, and waits until it listens.
func (s *Server) Restart() {
	t := s.t
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stop != nil {
		return
	}
	cmd := exec.Command(binary(t), s.args...)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+Access, "ROOT_SECRET_KEY="+Secret)
	logf, err := os.OpenFile(s.logf, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{}) // closed when the process has exited, with waitErr set
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	s.stop = func() {
		cmd.Process.Kill()
		<-exited
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			out, _ := os.ReadFile(s.logf)
			t.Fatalf("versitygw exited: %v\n%s", waitErr, out)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(s.logf)
			t.Fatalf("versitygw did not listen on %s in 10 s\n%s", s.Addr, out)
		}
	}
}
