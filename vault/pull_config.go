package vault

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/transparency-dev/formats/log"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"kavach/internal/dirlock"
	"kavach/internal/durable"
)

// A vault directory, as the vault process (Puller) keeps it, holds the store
// beside the files that say whom it trusts:
//
//	vault.json      the vault's name and public cosigning key, the node's URL
//	                at the first start, the node's log origin and checkpoint
//	                key (source_key), and the keys the administrator approved
//	                since, oldest first (approved_keys). Written at the first
//	                start; the origin and source_key are filled in once, at the
//	                first checkpoint, unless given with --source-key; after that
//	                only ApproveSourceKey adds to approved_keys.
//	vault.key       0600: the vault's private cosigning key; never leaves the host
//	status.json     rewritten after every pull (see Status)
//	confirmed.json  the largest history the node accepted the vault's
//	                cosignature of, only ever raised (see Confirmed)
//	lock            held for a moment while vault.json is changed
//	store/          the Store of the source's own journal
//	origins/XX/store/  the Store of node XX's journal, which the source holds
//	                (a site's, when the source is the central); vault.json's
//	                origins say which key the vault trusts for each
const (
	configFile = "vault.json"
	keyFile    = "vault.key"
	statusFile = "status.json"
	storeDir   = "store"
	dirFormat  = "kavach-vault/1"
)

// StoreDir is the store's directory inside the vault directory dir.
func StoreDir(dir string) string { return filepath.Join(dir, storeDir) }

// OriginStoreDir is the store of another node's journal (a site's, pulled
// through the central) inside the vault directory dir.
func OriginStoreDir(dir, code string) string { return filepath.Join(dir, "origins", code, storeDir) }

// OriginCodes lists the other nodes whose journals the vault in dir holds.
func OriginCodes(dir string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(dir, "origins"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && len(e.Name()) == 2 {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// Config is vault.json.
type Config struct {
	Format    string `json:"format"`
	Name      string `json:"name"`       // the vault's name, in its cosignatures and the node's status
	CosignKey string `json:"cosign_key"` // the vault's public cosigning key (vkey)
	Source    string `json:"source"`     // the node's URL at the first start
	Origin    string `json:"origin,omitempty"`
	// SourceKey is the node's checkpoint verifier key the vault first
	// trusted; ApprovedKeys are the node's keys the administrator approved
	// after it, oldest first. A node only moves forward through this list:
	// a checkpoint by a key older than the current one is refused.
	SourceKey    string    `json:"source_key,omitempty"`
	ApprovedKeys []string  `json:"approved_keys,omitempty"`
	Created      time.Time `json:"created"`
	// Origins are the other nodes whose journals the source holds and the
	// vault pulls too (a central's sites), by node code.
	Origins map[string]*OriginTrust `json:"origins,omitempty"`
}

// OriginTrust is whom the vault trusts for another node's journal: its log
// and the key the source named when the vault first saw it, then the keys
// the administrator approved (kavach vault approve-key --origin), oldest
// first.
type OriginTrust struct {
	Origin       string   `json:"origin"` // the checkpoints' origin line, e.g. kavach/KVH/KB
	Key          string   `json:"key"`
	ApprovedKeys []string `json:"approved_keys,omitempty"`
}

// Keys returns every key the vault trusts for the origin, in the order
// they were trusted.
func (o *OriginTrust) Keys() []string {
	if o == nil || o.Key == "" {
		return nil
	}
	return append([]string{o.Key}, o.ApprovedKeys...)
}

// OriginKeys returns the keys trusted for the node code's journal, oldest
// first (none if the vault has not seen it).
func (c *Config) OriginKeys(code string) []string { return c.Origins[code].Keys() }

// OriginVerifiers returns the keys of the node code's journal for
// Store.Scrub: the newest first, then the older ones.
func (c *Config) OriginVerifiers(code string) (note.Verifier, []note.Verifier, error) {
	return verifiers(c.OriginKeys(code))
}

// NodeKeys returns every node key the vault trusts, in the order they were
// trusted.
func (c *Config) NodeKeys() []string {
	if c.SourceKey == "" {
		return nil
	}
	return append([]string{c.SourceKey}, c.ApprovedKeys...)
}

// Verifiers returns the node's keys for Store.Scrub: the newest first, then
// the older ones.
func (c *Config) Verifiers() (note.Verifier, []note.Verifier, error) {
	return verifiers(c.NodeKeys())
}

func verifiers(keys []string) (note.Verifier, []note.Verifier, error) {
	if len(keys) == 0 {
		return noKey{}, nil, nil
	}
	var vs []note.Verifier
	for _, k := range slices.Backward(keys) {
		v, err := note.NewVerifier(k)
		if err != nil {
			return nil, nil, fmt.Errorf("vault: vault.json: node key %q: %w", k, err)
		}
		vs = append(vs, v)
	}
	return vs[0], vs[1:], nil
}

// noKey verifies nothing: the vault has not yet trusted a node key.
type noKey struct{}

func (noKey) Name() string                { return "(no node key trusted yet)" }
func (noKey) KeyHash() uint32             { return 0 }
func (noKey) Verify(msg, sig []byte) bool { return false }

// keyIndex returns the index in NodeKeys of the key that made a signature,
// or -1.
func (c *Config) keyIndex(signer sigID) int { return keyIndex(c.NodeKeys(), signer) }

func keyIndex(keys []string, signer sigID) int {
	for i, k := range keys {
		if id, ok := keyID(k); ok && id == signer {
			return i
		}
	}
	return -1
}

func keyID(vkey string) (sigID, bool) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return sigID{}, false
	}
	return sigID{v.Name(), v.KeyHash()}, true
}

// CheckName says what is wrong with a vault name, if anything: it goes into
// note key names and the node's status, so no spaces and no '+'.
func CheckName(name string) error {
	if name == "" || len(name) > 100 {
		return errors.New("a vault name has 1 to 100 characters")
	}
	if strings.ContainsFunc(name, func(r rune) bool { return r == '+' || unicode.IsSpace(r) || !unicode.IsPrint(r) }) {
		return fmt.Errorf("vault name %q: no spaces or '+'", name)
	}
	return nil
}

// Setup creates the vault directory dir (0700) on the first start, with a
// new cosigning key, or checks that an existing one agrees with want
// (Name, Source, SourceKey; empty fields are not checked). On an existing
// directory only an unset source key may be set; the node's URL may differ
// from the recorded one (the node moved) and is not rewritten.
func Setup(dir string, want Config) (*Config, error) {
	c, err := LoadConfig(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return create(dir, want)
	}
	if err != nil {
		return nil, err
	}
	if want.Name != "" && want.Name != c.Name {
		return nil, fmt.Errorf("vault: %s is the vault %q; its name does not change (leave out --name)", dir, c.Name)
	}
	if want.SourceKey != "" {
		switch {
		case c.SourceKey == "":
			return updateConfig(dir, func(c *Config) error {
				if c.SourceKey != "" {
					return errors.New("the node key was pinned meanwhile")
				}
				c.SourceKey = want.SourceKey
				return nil
			})
		case !slices.Contains(c.NodeKeys(), want.SourceKey):
			return nil, fmt.Errorf("vault: %s trusts the node key %s, not the --source-key given; a new node key is accepted only with: kavach vault approve-key --data %s --key KEY", dir, c.current(), dir)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, keyFile)); err != nil {
		return nil, fmt.Errorf("vault: %s: the vault's cosigning key: %w", dir, err)
	}
	return c, nil
}

func (c *Config) current() string {
	keys := c.NodeKeys()
	if len(keys) == 0 {
		return "(none yet)"
	}
	return keys[len(keys)-1]
}

func create(dir string, want Config) (*Config, error) {
	if err := CheckName(want.Name); err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	if want.Source == "" {
		return nil, errors.New("vault: a new vault needs the node's URL")
	}
	if want.SourceKey != "" {
		if _, err := note.NewVerifier(want.SourceKey); err != nil {
			return nil, fmt.Errorf("vault: source key: %w", err)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, keyFile)); err == nil {
		return nil, fmt.Errorf("vault: %s holds %s but no %s (an interrupted first start?): move %s out of the directory and start again", dir, keyFile, configFile, keyFile)
	}
	if entries, err := os.ReadDir(StoreDir(dir)); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("vault: %s holds a store but no %s: put back the vault.json from your records, or start a new vault directory", dir, configFile)
	}
	skey, vkey, err := GenerateKey(want.Name)
	if err != nil {
		return nil, err
	}
	// The key first: a vault.json always has its key beside it.
	if err := writeNew(filepath.Join(dir, keyFile), []byte(skey+"\n")); err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	if err := os.Chmod(filepath.Join(dir, keyFile), 0o600); err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	c := &Config{Format: dirFormat, Name: want.Name, CosignKey: vkey, Source: want.Source,
		SourceKey: want.SourceKey, Created: time.Now().UTC().Truncate(time.Second)}
	data, err := marshalConfig(c)
	if err != nil {
		return nil, err
	}
	if err := writeNew(filepath.Join(dir, configFile), data); err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	if err := durable.SyncDir(dir); err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	return c, nil
}

func marshalConfig(c *Config) ([]byte, error) {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("vault: vault.json: %w", err)
	}
	return append(data, '\n'), nil
}

// LoadConfig reads dir's vault.json; the error wraps fs.ErrNotExist when there
// is none.
func LoadConfig(dir string) (*Config, error) {
	data, err := os.ReadFile(filepath.Join(dir, configFile))
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("vault: %s: %v", filepath.Join(dir, configFile), err)
	}
	if c.Format != dirFormat {
		return nil, fmt.Errorf("vault: %s: format %q, expected %q", filepath.Join(dir, configFile), c.Format, dirFormat)
	}
	for _, k := range c.NodeKeys() {
		if _, err := note.NewVerifier(k); err != nil {
			return nil, fmt.Errorf("vault: %s: node key %q: %v", filepath.Join(dir, configFile), k, err)
		}
	}
	for code, o := range c.Origins {
		if !isNodeCode(code) || o == nil {
			return nil, fmt.Errorf("vault: %s: origins: %q is not a node's code", filepath.Join(dir, configFile), code)
		}
		for _, k := range o.Keys() {
			if _, err := note.NewVerifier(k); err != nil {
				return nil, fmt.Errorf("vault: %s: origin %s's key %q: %v", filepath.Join(dir, configFile), code, k, err)
			}
		}
	}
	return &c, nil
}

// isNodeCode reports whether code is a node's code: two capital letters.
func isNodeCode(code string) bool {
	return len(code) == 2 && 'A' <= code[0] && code[0] <= 'Z' && 'A' <= code[1] && code[1] <= 'Z'
}

// updateConfig changes vault.json under the directory's lock, so that the
// vault process and approve-key do not undo each other's change.
func updateConfig(dir string, change func(*Config) error) (*Config, error) {
	var lock *os.File
	var err error
	for range 50 {
		if lock, err = dirlock.Lock(filepath.Join(dir, "lock")); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return nil, fmt.Errorf("vault: vault.json is being changed by another process: %w", err)
	}
	defer lock.Close()
	c, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	if err := change(c); err != nil {
		return nil, fmt.Errorf("vault: vault.json: %w", err)
	}
	data, err := marshalConfig(c)
	if err != nil {
		return nil, err
	}
	if err := durable.WriteFile(filepath.Join(dir, configFile), data, 0o400); err != nil {
		return nil, fmt.Errorf("vault: vault.json: %w", err)
	}
	return c, nil
}

// ErrKeyTrusted is returned by ApproveSourceKey for a key already trusted.
var ErrKeyTrusted = errors.New("vault: the key is trusted already")

// ApproveSourceKey records the administrator's approval of a node's new
// checkpoint key (the verifier key a restored node prints) in dir's
// vault.json. A running vault takes it within seconds; one that is not
// running, at its next start. Approve a key only after checking with the
// node's administrator, by a channel other than the network the node is on,
// that it is the node's new key.
func ApproveSourceKey(dir, vkey string) (*Config, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("vault: approve key: %w (a key looks like %q)", err, "kavach/KVH/KA+1a2b3c4d+AV…")
	}
	c, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	if c.SourceKey == "" {
		return nil, errors.New("vault: approve key: the vault trusts no node key yet; give the node's key with --source-key, or let the vault trust the first checkpoint it sees")
	}
	if c.Origin != "" && v.Name() != c.Origin {
		return nil, fmt.Errorf("vault: approve key: the key is named %q, the node's log is %q: not a key of this node", v.Name(), c.Origin)
	}
	if slices.Contains(c.NodeKeys(), vkey) {
		return c, ErrKeyTrusted
	}
	if name, _, _ := strings.Cut(c.CosignKey, "+"); name == v.Name() {
		return nil, errors.New("vault: approve key: that is the vault's own cosigning key, not the node's")
	}
	return updateConfig(dir, func(c *Config) error {
		if slices.Contains(c.NodeKeys(), vkey) {
			return nil
		}
		c.ApprovedKeys = append(c.ApprovedKeys, vkey)
		return nil
	})
}

// ApproveOriginKey records the administrator's approval of a new key of
// another node's journal that the vault pulls through the source (code,
// e.g. KB: a site restored after an attack signs with a new key), in dir's
// vault.json. A running vault takes it within seconds. When the vault
// trusts no key of that node yet (it has not seen it, or the first
// checkpoint it saw was not signed by the key the source named), the key
// becomes the first it trusts. Approve a key only after checking it with
// that node's administrator by a channel other than the network.
func ApproveOriginKey(dir, code, vkey string) (*Config, error) {
	if !isNodeCode(code) {
		return nil, fmt.Errorf("vault: approve key: --origin %q is not a node's code (two capital letters, e.g. KB)", code)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("vault: approve key: %w (a key looks like %q)", err, "kavach/KVH/"+code+"+1a2b3c4d+AV…")
	}
	c, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	if want := originLog(c.Origin, code); c.Origins[code] != nil && v.Name() != c.Origins[code].Origin ||
		c.Origins[code] == nil && (want != "" && v.Name() != want || !strings.HasSuffix(v.Name(), "/"+code)) {
		return nil, fmt.Errorf("vault: approve key: the key is named %q: not a key of node %s's journal", v.Name(), code)
	}
	if c.Origin != "" && v.Name() == c.Origin {
		return nil, errors.New("vault: approve key: that is the source node's own key: approve it without --origin")
	}
	if slices.Contains(c.OriginKeys(code), vkey) {
		return c, ErrKeyTrusted
	}
	return updateConfig(dir, func(c *Config) error {
		o := c.Origins[code]
		switch {
		case slices.Contains(o.Keys(), vkey):
		case o == nil || o.Key == "":
			if c.Origins == nil {
				c.Origins = map[string]*OriginTrust{}
			}
			c.Origins[code] = &OriginTrust{Origin: v.Name(), Key: vkey}
		default:
			o.ApprovedKeys = append(o.ApprovedKeys, vkey)
		}
		return nil
	})
}

// originLog is the log line of node code's journal in the hospital whose
// source node has the log source ("kavach/KVH/KA"), or "" if it is not
// known yet.
func originLog(source, code string) string {
	i := strings.LastIndex(source, "/")
	if i < 0 {
		return ""
	}
	return source[:i+1] + code
}

// readCosignKey reads vault.key and checks that it is the key whose public
// half vault.json records.
func readCosignKey(dir string, c *Config) (string, error) {
	path := filepath.Join(dir, keyFile)
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("vault: the vault's cosigning key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("vault: %s is readable by others (mode %v): chmod 600 it", path, fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("vault: the vault's cosigning key: %w", err)
	}
	skey := string(bytes.TrimSpace(data))
	s, err := fnote.NewSignerForCosignatureV1(skey)
	if err != nil {
		return "", fmt.Errorf("vault: %s: %v", path, err)
	}
	v, err := fnote.NewVerifierForCosignatureV1(c.CosignKey)
	if err != nil {
		return "", fmt.Errorf("vault: vault.json: cosign_key: %v", err)
	}
	// A cosignature is over a checkpoint; any will do to compare the keys.
	probe := log.Checkpoint{Origin: "kavach vault key check", Hash: make([]byte, 32)}.Marshal()
	msg, err := note.Sign(&note.Note{Text: string(probe)}, s)
	if err == nil {
		_, err = note.Open(msg, note.VerifierList(v))
	}
	if err != nil {
		return "", fmt.Errorf("vault: %s is not the key of vault.json's cosign_key (replaced?): %v", path, err)
	}
	return skey, nil
}
