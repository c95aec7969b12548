package vault

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"kavach/internal/durable"
)

// countingHash hashes and counts what is written through it.
type countingHash struct {
	h hash.Hash
	n int64
}

func (c *countingHash) Write(p []byte) (int, error) {
	c.h.Write(p)
	c.n += int64(len(p))
	return len(p), nil
}

// writeTemp writes a new read-only file in tmp/ and syncs it. It returns the
// file's path, its SHA-256 and its size.
func (s *Store) writeTemp(write func(io.Writer) error) (path string, sum []byte, size int64, err error) {
	f, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "w-")
	if err != nil {
		return "", nil, 0, err
	}
	path = f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(path)
		}
	}()
	if err = f.Chmod(0o400); err != nil {
		return "", nil, 0, err
	}
	c := &countingHash{h: sha256.New()}
	if err = write(io.MultiWriter(f, c)); err != nil {
		return "", nil, 0, err
	}
	if err = f.Sync(); err != nil {
		return "", nil, 0, err
	}
	if err = f.Close(); err != nil {
		return "", nil, 0, err
	}
	return path, c.h.Sum(nil), c.n, nil
}

// publish gives a synced temporary file its final name, relative to the
// store's directory, without replacing anything: a hard link fails if the
// name exists, where a rename would silently overwrite it.
func (s *Store) publish(tmp, name string) error {
	defer os.Remove(tmp)
	dst := filepath.Join(s.dir, name)
	if err := os.Link(tmp, dst); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: %w; nothing in the vault is overwritten", name, fs.ErrExist)
		}
		return err
	}
	if err := durable.SyncDir(filepath.Dir(dst)); err != nil {
		return fmt.Errorf("%s: sync directory: %w", name, err)
	}
	return nil
}

// writeNew writes a new read-only file at path (absolute), synced, failing if
// it exists. It is for files outside the accepted history (forks/).
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o400)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// clearTmp removes what interrupted writes left behind.
func clearTmp(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("vault: %w", err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("vault: clear tmp/: %w", err)
		}
	}
	return nil
}
