package vault

// The vault's record of what it confirmed to the node. Ransomware on the
// vault host that deletes the newest files, or the whole store, leaves a
// shorter history that is sound in itself: every check of the files alone
// passes, and a restore would restore less without a word. So the vault
// keeps, outside the store, the largest history it has told the node it
// holds, and a store that holds less is damaged.
//
// An attacker who can delete the store can delete this record too. Then
// status.json's confirmed_events still says it (one more file to delete),
// and beyond the vault host the node's own record does: what each
// registered vault confirmed, on its status page and as
// kavach_vault_backed_up_events, which a restore takes with --expect-events.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"kavach/internal/durable"
)

const (
	confirmedFile   = "confirmed.json"
	confirmedFormat = "kavach-vault-confirmed/1"
)

// Confirmed is the largest history the vault has confirmed to the node:
// confirmed.json in the vault directory, written after the node accepted a
// cosigned checkpoint, only ever raised.
type Confirmed struct {
	Format   string `json:"format"`
	Events   uint64 `json:"events"`   // the size of the checkpoint
	Segments int    `json:"segments"` // the store's segments up to Events
	// Checkpoint is the checkpoint the node accepted, with the node's
	// signature and the vault's cosignature.
	Checkpoint string    `json:"checkpoint"`
	Time       time.Time `json:"time"` // when the node accepted it

	from string // where the figure came from, for messages
}

// ReadConfirmed reads what the vault in dir has confirmed to the node. A
// vault that has confirmed nothing yet, or ran before the record existed,
// has no confirmed.json: the result is then zero. The error says when the
// record is unreadable, or gone while status.json still counts events the
// vault confirmed (it never deletes it: someone did); the result then holds
// status.json's count.
//
// Beside the running vault, read it before opening the store's snapshot:
// the vault raises it only for events already in the store, so a record
// read first counts none that the snapshot lacks.
func ReadConfirmed(dir string) (Confirmed, error) {
	path := filepath.Join(dir, confirmedFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		st, serr := ReadStatus(dir)
		if serr != nil || st.ConfirmedEvents == 0 {
			return Confirmed{}, nil
		}
		c := Confirmed{Events: st.ConfirmedEvents, from: "status.json; confirmed.json is missing"}
		return c, fmt.Errorf("%s is missing, but status.json records that the vault confirmed %d events to the node (deleted?)", confirmedFile, st.ConfirmedEvents)
	}
	if err != nil {
		return Confirmed{}, fmt.Errorf("%s: %v", confirmedFile, err)
	}
	var c Confirmed
	if err := json.Unmarshal(data, &c); err != nil {
		return Confirmed{}, fmt.Errorf("%s: %v (changed?)", confirmedFile, err)
	}
	if c.Format != confirmedFormat {
		return Confirmed{}, fmt.Errorf("%s: format %q, expected %q (changed?)", confirmedFile, c.Format, confirmedFormat)
	}
	if cp, err := parseNote([]byte(c.Checkpoint)); err != nil || cp.size != c.Events {
		return Confirmed{}, fmt.Errorf("%s: its checkpoint is not one of %d events (changed?)", confirmedFile, c.Events)
	}
	c.from = fmt.Sprintf("%s, at %s", confirmedFile, c.Time.Format(time.RFC3339))
	return c, nil
}

// Check says what s lacks of the history c records: "" when s holds at
// least c.Events events and, where one of its segments ends there, with the
// root of c's checkpoint.
func (c Confirmed) Check(s *Store) string {
	have, segs := s.Size(), s.Segments()
	if have < c.Events {
		msg := fmt.Sprintf("the store holds %d events, but the vault confirmed %d to the node (%s): events %d..%d are missing (%d events",
			have, c.Events, c.from, have, c.Events-1, c.Events-have)
		if n := c.Segments - len(segs); n > 0 {
			msg += fmt.Sprintf(", %d segment%s from %s on", n, plural(n), manifestFile(have))
		}
		return msg + "; the newest files deleted?)"
	}
	cp, err := parseNote([]byte(c.Checkpoint))
	if err != nil {
		return ""
	}
	for _, g := range segs {
		if g.First+g.Count != c.Events {
			continue
		}
		if got, err := parseNote(g.Checkpoint); err != nil || !bytes.Equal(got.root, cp.root) {
			return fmt.Sprintf("%s: its checkpoint at %d events is not the one the vault confirmed to the node (%s) (replaced?)", g.Manifest(), c.Events, c.from)
		}
	}
	return ""
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// damage marks the store damaged, as OpenStore does when its files do not
// verify: it refuses to grow until an operator has looked.
func (s *Store) damage(faults ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, faults...)
}

// segmentsUpTo counts the segments that end at or before size.
func (s *Store) segmentsUpTo(size uint64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, g := range s.segs {
		if g.First+g.Count <= size {
			n++
		}
	}
	return n
}

// writeConfirmed records that the node accepted the cosigned checkpoint c
// over the first events of the store in dir's store: confirmed.json,
// replaced atomically and read-only.
func writeConfirmed(dir string, s *Store, cosigned []byte, now time.Time) (Confirmed, error) {
	cp, err := parseNote(cosigned)
	if err != nil {
		return Confirmed{}, fmt.Errorf("vault: %s: %w", confirmedFile, err)
	}
	c := Confirmed{Format: confirmedFormat, Events: cp.size, Segments: s.segmentsUpTo(cp.size), Checkpoint: string(cosigned), Time: now.UTC()}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return Confirmed{}, fmt.Errorf("vault: %s: %w", confirmedFile, err)
	}
	if err := durable.WriteFile(filepath.Join(dir, confirmedFile), append(data, '\n'), 0o400); err != nil {
		return Confirmed{}, fmt.Errorf("vault: %s: %w", confirmedFile, err)
	}
	return c, nil
}
