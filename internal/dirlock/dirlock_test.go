package dirlock

import (
	"errors"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// The lock keeps out a second holder, in another process as in this one,
// and is free again once the first lets go.
func TestLock(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no flock")
	}
	path := filepath.Join(t.TempDir(), "lock")
	f, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(path); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock in the same process: %v", err)
	}
	// Another process: flock(1) from util-linux, where it is installed.
	if flock, err := exec.LookPath("flock"); err == nil {
		if err := exec.Command(flock, "-n", path, "true").Run(); err == nil {
			t.Fatal("another process took the lock")
		}
	} else {
		t.Log("no flock(1) here: the lock was not tried from another process")
	}
	f.Close()
	g, err := Lock(path)
	if err != nil {
		t.Fatalf("lock after the first let go: %v", err)
	}
	g.Close()
}
