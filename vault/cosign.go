package vault

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// GenerateKey makes the vault's own Ed25519 key for C2SP tlog-cosignature/v1
// cosignatures, named name (e.g. "vault.kvh.example"). Keep skey on the vault
// host only; give vkey to whoever checks the vault's cosignatures.
func GenerateKey(name string) (skey, vkey string, err error) {
	skey, vkey, err = note.GenerateKey(rand.Reader, name)
	if err != nil {
		return "", "", fmt.Errorf("vault: generate key: %w", err)
	}
	// note makes a plain Ed25519 key (type 1); a cosigner's key is type 4,
	// with its own key hash, so that its signatures cannot be taken for the
	// log's.
	vkey, err = fnote.VKeyToCosignatureV1(vkey)
	if err != nil {
		return "", "", fmt.Errorf("vault: generate key: %w", err)
	}
	parts := strings.SplitN(skey, "+", 5)  // PRIVATE+KEY+name+hash+key
	vparts := strings.SplitN(vkey, "+", 3) // name+hash+key
	if len(parts) != 5 || len(vparts) != 3 {
		return "", "", errors.New("vault: generate key: unexpected key format")
	}
	key, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(key) == 0 {
		return "", "", errors.New("vault: generate key: unexpected key format")
	}
	hash := vparts[1]
	key[0] = 4 // Ed25519 cosignature/v1
	skey = strings.Join([]string{"PRIVATE", "KEY", name, hash, base64.StdEncoding.EncodeToString(key)}, "+")
	return skey, vkey, nil
}

// Cosign adds the vault's cosignature (C2SP tlog-cosignature/v1, with the
// time) to a signed checkpoint, keeping the signatures it has. It signs what
// it is given: call it only on a checkpoint the vault has verified and
// stored, or use Store.Cosign.
func Cosign(skey string, checkpoint []byte) ([]byte, error) {
	s, err := fnote.NewSignerForCosignatureV1(skey)
	if err != nil {
		return nil, fmt.Errorf("vault: cosign: key: %w", err)
	}
	// With no verifiers, Open reads the note and its signatures and says
	// that none verifies: the note is in the error.
	_, err = note.Open(checkpoint, note.VerifierList())
	var unverified *note.UnverifiedNoteError
	if !errors.As(err, &unverified) {
		return nil, fmt.Errorf("vault: cosign: checkpoint: %v", err)
	}
	n := unverified.Note
	if _, err := parseNote(checkpoint); err != nil {
		return nil, fmt.Errorf("vault: cosign: checkpoint: %w", err)
	}
	out, err := note.Sign(n, s)
	if err != nil {
		return nil, fmt.Errorf("vault: cosign: %w", err)
	}
	return out, nil
}

// VerifyCosignature checks that cosigned carries a valid cosignature by the
// key vkey (from GenerateKey). It does not check the log's own signature:
// journal.OpenCheckpoint does that.
func VerifyCosignature(vkey string, cosigned []byte) error {
	v, err := fnote.NewVerifierForCosignatureV1(vkey)
	if err != nil {
		return fmt.Errorf("vault: cosignature: key: %w", err)
	}
	if _, err := note.Open(cosigned, note.VerifierList(v)); err != nil {
		var unverified *note.UnverifiedNoteError
		if errors.As(err, &unverified) {
			return fmt.Errorf("vault: cosignature: not cosigned by %s", v.Name())
		}
		return fmt.Errorf("vault: cosignature: %w", err)
	}
	return nil
}

// Cosign cosigns the store's last checkpoint with skey and stores the result
// beside its manifest (manifests/<first>.cosigned), once: a checkpoint
// already cosigned is an error wrapping fs.ErrExist. Call it after each
// Append; LastCosigned returns the result until the next.
func (s *Store) Cosign(skey string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil {
		return nil, fmt.Errorf("vault: cosign: %w", err)
	}
	if len(s.segs) == 0 {
		return nil, errors.New("vault: cosign: the store is empty")
	}
	last := s.segs[len(s.segs)-1]
	c, err := Cosign(skey, last.Checkpoint)
	if err != nil {
		return nil, err
	}
	tmp, _, _, err := s.writeTemp(func(w io.Writer) error { _, err := w.Write(c); return err })
	if err == nil {
		err = s.publish(tmp, cosignedFile(last.First))
	}
	if err != nil {
		return nil, fmt.Errorf("vault: cosign: %w", err)
	}
	s.cosigned = c
	return c, nil
}
