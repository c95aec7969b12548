// Package s3test runs a real S3 server with Object Lock for tests: versitygw
// on its posix backend, which scripts/test.sh installs.
package s3test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
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
	bin := binary(t)
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
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+Access, "ROOT_SECRET_KEY="+Secret)
	logf, err := os.Create(filepath.Join(tmp, "versitygw.log"))
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
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return addr
		}
		select {
		case <-exited:
			out, _ := os.ReadFile(logf.Name())
			t.Fatalf("versitygw exited: %v\n%s", waitErr, out)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(logf.Name())
			t.Fatalf("versitygw did not listen on %s in 10 s\n%s", addr, out)
		}
	}
}
