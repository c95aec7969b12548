package node

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"kavach"
	"kavach/journal"
)

// A vault tells the node what it holds by sending the node's checkpoint
// with the vault's cosignature. The replication token lets anyone who holds
// it do that, so the node believes only vaults its administrator registered
// by name and public cosigning key (kavach vaults add), and checks each
// cosignature against that key: a token alone cannot make the node say its
// data is backed up. Registering and removing a vault are journaled.

// The vault registry's event types.
const (
	VaultRegistered Event[VaultKey]  = "vault.registered"
	VaultRemoved    Event[VaultName] = "vault.removed"
)

// VaultKey is the payload of vault.registered. Frozen.
type VaultKey struct {
	Key  string `json:"key"` // the vault's public cosigning key (C2SP cosignature/v1)
	Name string `json:"name"`
}

// VaultName is the payload of vault.removed. Frozen.
type VaultName struct {
	Name string `json:"name"`
}

// vaultsSchema (migration node/006) holds the registered vaults.
const vaultsSchema = `
CREATE TABLE vaults (
	name  TEXT PRIMARY KEY,
	key   TEXT NOT NULL,
	stamp TEXT NOT NULL
);
`

// A vault's registration holds its newest event (last writer wins by
// Stamp); a removal keeps its row, keyless, so that an older registration
// arriving later does not bring the vault back.
func applyVaultRegistered(p *Projection, e *journal.Event, v *VaultKey) error {
	_, err := p.Exec(`INSERT INTO vaults (name, key, stamp) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET key = excluded.key, stamp = excluded.stamp WHERE excluded.stamp > vaults.stamp`,
		v.Name, v.Key, Stamp(e))
	return err
}

func applyVaultRemoved(p *Projection, e *journal.Event, v *VaultName) error {
	_, err := p.Exec(`INSERT INTO vaults (name, key, stamp) VALUES (?, '', ?)
		ON CONFLICT (name) DO UPDATE SET key = '', stamp = excluded.stamp WHERE excluded.stamp > vaults.stamp`,
		v.Name, Stamp(e))
	return err
}

// CheckVaultName says what is wrong with a vault's name, if anything: it
// is in the vault's key, in cosignatures and in metrics' labels, so it is
// letters, digits, dots, hyphens and underscores, 1 to 100 of them.
func CheckVaultName(name string) string {
	if name == "" || len(name) > 100 {
		return "Vault name must have 1 to 100 characters"
	}
	for _, r := range name {
		if r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '-' || r == '_') {
			return "Vault name may have only letters, digits, dots, hyphens and underscores"
		}
	}
	return ""
}

// cosignVerifier reads a vault's public cosigning key.
func cosignVerifier(key string) (note.Verifier, error) {
	return fnote.NewVerifierForCosignatureV1(key)
}

// RegisterVault journals that the vault called name, with the public
// cosigning key key, may report what it holds; a vault already registered
// gets the new key.
func (n *Node) RegisterVault(ctx context.Context, actor, name, key string) error {
	f := kavach.Fields{}
	if p := CheckVaultName(name); p != "" {
		f.Add("name", p)
	}
	key = strings.TrimSpace(key)
	if v, err := cosignVerifier(key); err != nil {
		f.Add("key", "Key must be the vault's public cosigning key, as kavach vault status shows it (name+hash+key)")
	} else if v.Name() != name {
		f.Add("key", fmt.Sprintf("This key is vault %q's, not %q's", v.Name(), name))
	}
	if err := f.Err(); err != nil {
		return err
	}
	return n.Do(ctx, actor, func(tx *Tx) error {
		_, err := Emit(tx, VaultRegistered, VaultKey{Key: key, Name: name})
		return err
	})
}

// RemoveVault journals that the vault called name no longer reports to
// this node, and forgets what it last reported.
func (n *Node) RemoveVault(ctx context.Context, actor, name string) error {
	err := n.Do(ctx, actor, func(tx *Tx) error {
		var key string
		err := tx.QueryRow(`SELECT key FROM vaults WHERE name = ?`, name).Scan(&key)
		if err != nil || key == "" {
			return &kavach.Error{Code: kavach.ENOTFOUND, Message: "No vault " + name + " is registered.", Fields: map[string]string{"name": "not a registered vault"}}
		}
		_, err = Emit(tx, VaultRemoved, VaultName{Name: name})
		return err
	})
	if err != nil {
		return err
	}
	db, err := OpenDB(DBPath(n.dir))
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, `DELETE FROM local_vaults WHERE name = ?`, name)
	return err
}

// RegisteredVault is a vault the node believes.
type RegisteredVault struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// RegisteredVaults lists the vaults the node believes.
func RegisteredVaults(ctx context.Context, db journal.DBTX) ([]RegisteredVault, error) {
	rows, err := db.QueryContext(ctx, `SELECT name, key FROM vaults WHERE key != '' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	vs := []RegisteredVault{}
	for rows.Next() {
		var v RegisteredVault
		if err := rows.Scan(&v.Name, &v.Key); err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	return vs, rows.Err()
}

// RecordCosignature records that a vault verified and stored the journal up
// to a checkpoint: the checkpoint must carry this node's own valid
// signature and the cosignature of a vault registered under that name.
func (n *Node) RecordCosignature(ctx context.Context, vault string, cosigned []byte) (*VaultStatus, error) {
	bad := func(code, field, msg string) error {
		return &kavach.Error{Code: code, Message: msg, Fields: map[string]string{field: msg}}
	}
	if p := CheckVaultName(vault); p != "" {
		return nil, bad(kavach.EINVALID, "vault", p)
	}
	var key string
	err := n.reader.QueryRowContext(ctx, `SELECT key FROM vaults WHERE name = ?`, vault).Scan(&key)
	if err != nil || key == "" {
		return nil, bad(kavach.EFORBIDDEN, "vault", "Vault "+vault+" is not registered on this node: its administrator registers it with 'kavach vaults add --name "+vault+" --key KEY', the key from 'kavach vault status' on the vault's host")
	}
	vv, err := cosignVerifier(key)
	if err != nil {
		return nil, err
	}
	nv, err := note.NewVerifier(n.Info().Verifier)
	if err != nil {
		return nil, err
	}
	// Both signatures: the node's own and the registered vault's.
	opened, err := note.Open(cosigned, note.VerifierList(nv, vv))
	if err != nil {
		return nil, bad(kavach.EINVALID, "checkpoint", "Not a checkpoint signed by this node's current key")
	}
	signedBy := map[string]bool{}
	for _, s := range opened.Sigs {
		signedBy[s.Name] = true
	}
	if !signedBy[vv.Name()] || !signedBy[nv.Name()] {
		return nil, bad(kavach.EFORBIDDEN, "checkpoint", "The checkpoint does not carry both this node's signature and the cosignature of vault "+vault+"'s registered key")
	}
	cp, err := journal.OpenCheckpoint(cosigned, n.Info().Origin, nv)
	if err != nil {
		return nil, bad(kavach.EINVALID, "checkpoint", "Not a checkpoint signed by this node's current key")
	}
	if cp.Size > n.Status().Events {
		return nil, bad(kavach.EINVALID, "checkpoint", "The checkpoint is beyond this node's journal")
	}
	root, err := journal.RootAt(ctx, n.reader, cp.Size)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(root, cp.Hash) {
		return nil, bad(kavach.EINVALID, "checkpoint", "The checkpoint does not match this node's journal")
	}
	now := time.Now().UTC()
	// A local table, not the journal: the vault's progress is this node's
	// knowledge, and journaling it would add an event for every pull.
	db, err := OpenDB(DBPath(n.dir))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, `INSERT INTO local_vaults (name, size, checkpoint, time) VALUES (?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET size = excluded.size, checkpoint = excluded.checkpoint, time = excluded.time
		WHERE excluded.size >= local_vaults.size`, vault, cp.Size, cosigned, now.Format(time.RFC3339Nano))
	if err != nil {
		return nil, err
	}
	// What a vault confirmed is what this node passes on of its journal to
	// its sites (web's feed): wake their long polls, as a commit does.
	n.mu.Lock()
	close(n.changed)
	n.changed = make(chan struct{})
	n.mu.Unlock()
	return &VaultStatus{Name: vault, Size: cp.Size, Checkpoint: string(cosigned), Time: now}, nil
}
