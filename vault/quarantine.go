package vault

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"filippo.io/age"

	"kavach/internal/durable"
	"kavach/journal"
)

// Quarantine sets aside a history the store refused (a rollback, a rewrite,
// a checkpoint from another key) for forensics, in a new directory
// forks/<UTC time>-<n>/, and returns its path. The accepted segments are not
// touched. The directory holds:
//
//	reason.txt      the reason, where the batch started, and the vault's size
//	                and root at the time
//	checkpoint      the checkpoint exactly as it came
//	leaves.txt      "index leafhash" for each event, in the clear
//	events.age      the events as they came, in the segment framing,
//	                encrypted to recipients
//
// Divergent events hold patient data as much as accepted ones, so they are
// kept only encrypted: recipients are required when there are events.
func (s *Store) Quarantine(reason string, first uint64, events [][]byte, checkpoint []byte, recipients ...age.Recipient) (string, error) {
	if len(events) > 0 && len(recipients) == 0 {
		return "", errors.New("vault: quarantine: no age recipients: the events are kept only encrypted")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.view != nil:
		return "", fmt.Errorf("vault: quarantine: %w", ErrReadOnly)
	case s.lock == nil:
		return "", fmt.Errorf("vault: quarantine: %w", ErrClosed)
	}
	now := s.now().UTC()
	forks := filepath.Join(s.dir, "forks")
	var dir string
	for n := 1; ; n++ {
		dir = filepath.Join(forks, fmt.Sprintf("%s-%d", now.Format("20060102T150405Z"), n))
		err := os.Mkdir(dir, 0o700)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("vault: quarantine: %w", err)
		}
	}
	var info bytes.Buffer
	fmt.Fprintf(&info, "%s\n\nreceived %s\n", reason, now.Format(time.RFC3339))
	if len(events) > 0 {
		fmt.Fprintf(&info, "events %d..%d (%d)\n", first, first+uint64(len(events))-1, len(events))
	} else {
		fmt.Fprintf(&info, "no events, first %d\n", first)
	}
	fmt.Fprintf(&info, "vault size %d\nvault root %x\n", s.size, s.root)
	var leaves bytes.Buffer
	for i, e := range events {
		fmt.Fprintf(&leaves, "%d %s\n", first+uint64(i), hex.EncodeToString(journal.LeafHash(e)))
	}
	files := []struct {
		name string
		data []byte
	}{
		{"reason.txt", info.Bytes()},
		{"checkpoint", checkpoint},
		{"leaves.txt", leaves.Bytes()},
	}
	if len(events) > 0 {
		var enc bytes.Buffer
		if err := encryptEvents(&enc, first, events, recipients); err != nil {
			return dir, fmt.Errorf("vault: quarantine: %w", err)
		}
		files = append(files, struct {
			name string
			data []byte
		}{"events.age", enc.Bytes()})
	}
	for _, f := range files {
		if err := writeNew(filepath.Join(dir, f.name), f.data); err != nil {
			return dir, fmt.Errorf("vault: quarantine: %w", err)
		}
	}
	if err := durable.SyncDir(dir); err != nil {
		return dir, fmt.Errorf("vault: quarantine: %w", err)
	}
	if err := durable.SyncDir(forks); err != nil {
		return dir, fmt.Errorf("vault: quarantine: %w", err)
	}
	return dir, nil
}
