package dirlock

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
)

// The lock keeps out a second holder, in another process as in this one,
// and is free again once the first lets go.
func TestLock(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no flock")
	}
	t.Run("ErrHeldInThisProcess", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "lock")
		f := lock(t, path)
		defer f.Close()
		if _, err := Lock(path); !errors.Is(err, ErrLocked) {
			t.Fatalf("second lock in the same process: %v", err)
		}
	})
	t.Run("ErrHeldInAnotherProcess", func(t *testing.T) {
		flock := needFlock(t)
		path := filepath.Join(t.TempDir(), "lock")
		f := lock(t, path)
		defer f.Close()
		// With -E, flock -n exits with that status on a held lock and only
		// then: any other failure of flock(1) says nothing about the lock.
		const held = 75
		err := exec.Command(flock, "-n", "-E", strconv.Itoa(held), path, "true").Run()
		if ee := (*exec.ExitError)(nil); !errors.As(err, &ee) || ee.ExitCode() != held {
			t.Fatalf("flock(1) on a held lock: %v, want exit status %d", err, held)
		}
		f.Close()
		if err := exec.Command(flock, "-n", "-E", strconv.Itoa(held), path, "true").Run(); err != nil {
			t.Fatalf("flock(1) once the lock was let go: %v", err)
		}
	})
	t.Run("OKAfterRelease", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "lock")
		lock(t, path).Close()
		lock(t, path).Close()
	})
}

func lock(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// needFlock returns the path of flock(1), from util-linux, which tries the
// lock from another process. Without it that case cannot run: a skip on a
// developer's machine, but a failure in CI (scripts/test.sh sets CI=true),
// where a skipped case would hide a lock that other processes ignore.
func needFlock(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("flock")
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatal("flock(1) not found and CI is set: install util-linux (apt-get install -y util-linux)")
	}
	t.Skip("flock(1) not found: install util-linux to try the lock from another process")
	return ""
}
