package node

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"kavach"
	"kavach/journal"
)

// Site nodes. The central node registers a site (kavach site add): its code,
// which is the namespace of its identifiers, its name and its block of
// token numbers, and a one-time enrolment token kept only as a hash. The
// site, started with that token, makes its own signing key and enrols: the
// central journals the site's key and the hash of a sync credential that
// it hands the site once. The site journals whose site it is and the
// central's key. Every node then trusts an origin's checkpoints only under
// a key it was told at enrolment or one its own administrator approved (a
// restored node signs with a new key); a site also believes what the
// central journaled of the other sites' keys.

// Site registry event types.
const (
	SiteAdded        Event[SiteAdd]           = "site.added"
	SiteEnrolled     Event[SiteEnrolment]     = "site.enrolled"
	UpstreamEnrolled Event[UpstreamEnrolment] = "upstream.enrolled"
	NodeKeyApproved  Event[KeyApproval]       = "node.key_approved"
)

const (
	// TokenBlock is a site's block of OPD tokens (the first site's are
	// 1000001…, shown as KB-1…): the central's own run up from 1, with no
	// limit a hospital's day could reach.
	TokenBlock        = 1000000
	enrolmentTokenTTL = 24 * time.Hour
)

// SiteAdd is the payload of site.added. Frozen.
type SiteAdd struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	TokenBase int64  `json:"token_base"` // the site's OPD tokens are TokenBase+1 … TokenBase+999999
}

// SiteEnrolment is the payload of site.enrolled: the key the site signs
// with and the SHA-256 of its sync credential. Frozen.
type SiteEnrolment struct {
	Code       string `json:"code"`
	Credential string `json:"credential"`
	Verifier   string `json:"verifier"`
}

// UpstreamEnrolment is the payload of upstream.enrolled, a site's record of
// the central node it enrolled with. Frozen.
type UpstreamEnrolment struct {
	Central  string `json:"central"` // the central's node code
	Log      string `json:"log"`     // its checkpoints' origin line
	URL      string `json:"url"`
	Verifier string `json:"verifier"`
}

// KeyApproval is the payload of node.key_approved: this node's
// administrator trusts another origin's new key (after that node was
// restored). Frozen.
type KeyApproval struct {
	Origin   string `json:"origin"`
	Reason   string `json:"reason"`
	Verifier string `json:"verifier"`
}

// sitesSchema is part of migration node/008.
const sitesSchema = `
CREATE TABLE sites (
	code       TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	token_base INTEGER NOT NULL,
	verifier   TEXT NOT NULL,  -- its key from its enrolment, '' until then
	credential TEXT NOT NULL,  -- SHA-256 of its sync credential, hex
	added      TEXT NOT NULL,  -- Stamp of site.added
	enrolled   TEXT NOT NULL   -- Stamp of site.enrolled, '' until then
);
-- Each node that added a site, from its first site.added on (see Sited).
CREATE TABLE site_adders (
	node TEXT PRIMARY KEY,
	seq  INTEGER NOT NULL
);
-- Which keys each node trusts for each origin's checkpoints: a site's key as
-- the central enrolled it, the central's as the site enrolled with it, and
-- keys an administrator approved.
CREATE TABLE origin_trust (
	node     TEXT NOT NULL,
	origin   TEXT NOT NULL,
	verifier TEXT NOT NULL,
	seq      INTEGER NOT NULL,
	PRIMARY KEY (node, origin, verifier)
);
-- A site's central.
CREATE TABLE upstreams (
	node    TEXT PRIMARY KEY,
	central TEXT NOT NULL,
	url     TEXT NOT NULL
);
-- One-time enrolment tokens, as hashes: node-local, never journaled.
CREATE TABLE local_enrolments (
	id      TEXT PRIMARY KEY,
	code    TEXT NOT NULL,
	created TEXT NOT NULL,
	expires TEXT NOT NULL,
	used    TEXT NOT NULL
);
-- A site's link to its central: the URL and the sync credential.
CREATE TABLE local_upstream (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	url        TEXT NOT NULL,
	credential TEXT NOT NULL
);
`

func applySiteAdded(p *Projection, e *journal.Event, v *SiteAdd) error {
	p.ForgetCached() // a namespace
	if _, err := p.Exec(`INSERT INTO site_adders (node, seq) VALUES (?, ?)
		ON CONFLICT (node) DO UPDATE SET seq = excluded.seq WHERE excluded.seq < site_adders.seq`, e.Origin, e.Seq); err != nil {
		return err
	}
	_, err := p.Exec(`INSERT INTO sites (code, name, token_base, verifier, credential, added, enrolled) VALUES (?, ?, ?, '', '', ?, '')
		ON CONFLICT (code) DO UPDATE SET name = excluded.name, token_base = excluded.token_base, added = excluded.added
		WHERE excluded.added < sites.added`, v.Code, v.Name, v.TokenBase, Stamp(e))
	return err
}

// applySiteEnrolled records the site's key. Enrolment follows site.added on
// the same (central) node, so the row is there.
func applySiteEnrolled(p *Projection, e *journal.Event, v *SiteEnrolment) error {
	if _, err := p.Exec(`UPDATE sites SET verifier = ?, credential = ?, enrolled = ? WHERE code = ? AND enrolled < ?`,
		v.Verifier, v.Credential, Stamp(e), v.Code, Stamp(e)); err != nil {
		return err
	}
	return trust(p, e, v.Code, v.Verifier)
}

func applyUpstreamEnrolled(p *Projection, e *journal.Event, v *UpstreamEnrolment) error {
	p.ForgetCached() // Sited
	if _, err := p.Exec(`INSERT INTO upstreams (node, central, url) VALUES (?, ?, ?)`, e.Origin, v.Central, v.URL); err != nil {
		return err
	}
	return trust(p, e, v.Central, v.Verifier)
}

func applyKeyApproved(p *Projection, e *journal.Event, v *KeyApproval) error {
	return trust(p, e, v.Origin, v.Verifier)
}

func trust(p *Projection, e *journal.Event, origin, verifier string) error {
	_, err := p.Exec(`INSERT INTO origin_trust (node, origin, verifier, seq) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		e.Origin, origin, verifier, e.Seq)
	return err
}

// trusted reports whether node self trusts verifier for origin's
// checkpoints: by its own record, or, for another site, by its central's.
func trusted(ctx context.Context, db journal.DBTX, self, origin, verifier string) (bool, error) {
	var ok bool
	err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM origin_trust WHERE origin = ? AND verifier = ? AND (node = ?
		OR node = (SELECT central FROM upstreams WHERE node = ? AND central != ?)))`, origin, verifier, self, self, origin).Scan(&ok)
	return ok, err
}

// Namespace is what identifiers an origin may issue: those beginning with
// its code, and OPD tokens above its token base.
type Namespace struct {
	Code      string
	TokenBase int64
}

// TokenLimit is the highest token of a namespace's block.
func (ns Namespace) TokenLimit() int64 { return ns.TokenBase + TokenBlock - 1 }

// Namespace returns the namespace of this node's identifiers.
func (tx *Tx) Namespace() (Namespace, error) {
	v, err := tx.Cached("node.namespace", func() (any, error) { return namespaceOf(tx.ctx, tx, tx.n.info.NodeCode) })
	if err != nil {
		return Namespace{}, err
	}
	return v.(Namespace), nil
}

func namespaceOf(ctx context.Context, db journal.DBTX, code string) (Namespace, error) {
	ns := Namespace{Code: code}
	err := db.QueryRowContext(ctx, `SELECT token_base FROM sites WHERE code = ?`, code).Scan(&ns.TokenBase)
	if errors.Is(err, sql.ErrNoRows) {
		err = nil // the central, or a node on its own
	}
	return ns, err
}

// stampTime is the time a Stamp begins with.
func stampTime(stamp string) time.Time {
	t, _ := time.Parse(journal.TimeFormat, strings.SplitN(stamp, " ", 2)[0])
	return t
}

// Site is a site node as the central sees it.
type Site struct {
	Code      string    `json:"code"`
	Name      string    `json:"name"`
	TokenBase int64     `json:"token_base"`
	Verifier  string    `json:"verifier,omitempty"`
	Enrolled  time.Time `json:"enrolled,omitzero"`
}

// Sites lists the hospital's site nodes.
func Sites(ctx context.Context, db journal.DBTX) ([]Site, error) {
	rows, err := db.QueryContext(ctx, `SELECT code, name, token_base, verifier, enrolled FROM sites ORDER BY code`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Site{}
	for rows.Next() {
		var s Site
		var enrolled string
		if err := rows.Scan(&s.Code, &s.Name, &s.TokenBase, &s.Verifier, &enrolled); err != nil {
			return nil, err
		}
		s.Enrolled = stampTime(enrolled)
		out = append(out, s)
	}
	return out, rows.Err()
}

// Upstream is a site's central, as the site's journal records it.
type Upstream struct {
	Central string
	URL     string
}

// UpstreamOf returns the central of the site node code, or nil if code is
// not a site.
func UpstreamOf(ctx context.Context, db journal.DBTX, code string) (*Upstream, error) {
	var u Upstream
	err := db.QueryRowContext(ctx, `SELECT central, url FROM upstreams WHERE node = ?`, code).Scan(&u.Central, &u.URL)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// Upstream returns this node's central, nil on a central node.
func (n *Node) Upstream(ctx context.Context) (*Upstream, error) {
	return UpstreamOf(ctx, n.reader, n.Info().NodeCode)
}

// EnrolmentTokenPrefix begins every enrolment token.
const EnrolmentTokenPrefix = "kve_"

// SiteCredentialPrefix begins every site's sync credential.
const SiteCredentialPrefix = "kvs_"

func randomToken(prefix string) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	return prefix + base64.RawURLEncoding.EncodeToString(raw), nil
}

// AddSite registers a site node with the namespace code (journaled) and
// returns its one-time enrolment token, valid for ttl (a day if 0). Only a
// central node adds sites.
func (n *Node) AddSite(ctx context.Context, actor, code, name string, ttl time.Duration) (string, error) {
	code = strings.ToUpper(strings.TrimSpace(code))
	name = strings.TrimSpace(name)
	f := kavach.Fields{}
	if !nodeCodeRE.MatchString(code) {
		f.Add("code", "Code must be two letters other than I and O, e.g. KB: the start of every UHID the site issues")
	}
	if name == "" || len([]rune(name)) > 80 {
		f.Add("name", "Name must have 1 to 80 characters, e.g. OPD counter 3")
	}
	f.Text("name", name)
	if ttl < 0 {
		f.Add("expires", "Expiry must be in the future")
	}
	if err := f.Err(); err != nil {
		return "", err
	}
	if ttl == 0 {
		ttl = enrolmentTokenTTL
	}
	if up, err := n.Upstream(ctx); err != nil {
		return "", err
	} else if up != nil {
		return "", &kavach.Error{Code: kavach.EINVALID, Message: "This node is a site of " + up.Central + ": add sites on the central node."}
	}
	// The token names the hospital and the site, which the site's key is
	// named for: it makes the key before it enrols.
	tok, err := randomToken(EnrolmentTokenPrefix + n.Info().HospitalCode + "." + code + ".")
	if err != nil {
		return "", err
	}
	err = n.Do(ctx, actor, func(tx *Tx) error {
		var taken string
		err := tx.QueryRow(`SELECT code FROM nodes WHERE code = ? UNION SELECT code FROM sites WHERE code = ?`, code, code).Scan(&taken)
		if err == nil {
			return &kavach.Error{Code: kavach.ECONFLICT, Message: "Code " + code + " is taken: every node needs a code of its own.", Fields: map[string]string{"code": "already a node of this hospital"}}
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var base int64
		if err := tx.QueryRow(`SELECT coalesce(max(token_base), 0) + ? FROM sites`, TokenBlock).Scan(&base); err != nil {
			return err
		}
		_, err = Emit(tx, SiteAdded, SiteAdd{Code: code, Name: name, TokenBase: base})
		return err
	})
	if err != nil {
		return "", err
	}
	db, err := OpenDB(DBPath(n.dir))
	if err != nil {
		return "", err
	}
	defer db.Close()
	now := time.Now().UTC()
	if _, err := db.ExecContext(ctx, `INSERT INTO local_enrolments (id, code, created, expires, used) VALUES (?, ?, ?, ?, '')`,
		TokenID(tok), code, now.Format(journal.TimeFormat), now.Add(ttl).Format(journal.TimeFormat)); err != nil {
		return "", err
	}
	return tok, nil
}

// ParseEnrolmentToken returns the hospital and site codes an enrolment
// token names.
func ParseEnrolmentToken(tok string) (hospital, code string, err error) {
	parts := strings.Split(strings.TrimPrefix(tok, EnrolmentTokenPrefix), ".")
	if !strings.HasPrefix(tok, EnrolmentTokenPrefix) || len(parts) != 3 || !hospitalCodeRE.MatchString(parts[0]) || !nodeCodeRE.MatchString(parts[1]) || len(parts[2]) < 40 {
		return "", "", &kavach.Error{Code: kavach.EINVALID, Message: "This is not an enrolment token (kve_…): copy the whole line 'kavach site add' printed on the central node.", Fields: map[string]string{"token": "not an enrolment token"}}
	}
	return parts[0], parts[1], nil
}

// Enrolment is what a site learns when it enrols.
type Enrolment struct {
	HospitalCode string `json:"hospital_code"`
	HospitalName string `json:"hospital_name"`
	Code         string `json:"code"`
	Name         string `json:"name"`
	TokenBase    int64  `json:"token_base"`
	Central      string `json:"central"`
	CentralLog   string `json:"central_log"`
	CentralKey   string `json:"central_key"`
	Credential   string `json:"credential"` // the site's sync credential: shown once
}

// ErrEnrolment is the refusal of an enrolment token: unknown, expired or used.
var ErrEnrolment = &kavach.Error{Code: kavach.EUNAUTHORIZED, Message: "This enrolment token is not valid: it is unknown, expired or already used. Make a new one on the central node with 'kavach site add'."}

// Enrol takes a site's enrolment: its one-time token and its new key. The
// central journals the site's key and the hash of a new sync credential,
// which it returns with what the site must know. from names the client,
// for the alert a refusal raises.
func (n *Node) Enrol(ctx context.Context, token, verifier, from string) (*Enrolment, error) {
	refuse := func(kind, msg string, err error) (*Enrolment, error) {
		n.RaiseAlert(ctx, kind, from, msg)
		return nil, err
	}
	if _, _, err := ParseEnrolmentToken(token); err != nil {
		return refuse(AlertEnrolment, "an enrolment with a malformed token from "+from+" was refused", ErrEnrolment)
	}
	verifier = strings.TrimSpace(verifier)
	var code, expires, used string
	err := n.reader.QueryRowContext(ctx, `SELECT code, expires, used FROM local_enrolments WHERE id = ?`, TokenID(token)).Scan(&code, &expires, &used)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return refuse(AlertEnrolment, "an enrolment with an unknown token from "+from+" was refused (a forged or mistyped token)", ErrEnrolment)
	case err != nil:
		return nil, err
	case used != "":
		return refuse(AlertEnrolment, "an enrolment for site "+code+" from "+from+" was refused: its token was already used on "+used, ErrEnrolment)
	case expires <= time.Now().UTC().Format(journal.TimeFormat):
		return refuse(AlertEnrolment, "an enrolment for site "+code+" from "+from+" was refused: its token expired on "+expires, ErrEnrolment)
	}
	info := n.Info()
	// The same key as another node's, however it is named, is refused
	// first: it would let one node's signature pass for another's.
	if other, err := keyOwner(ctx, n.reader, code, verifier); err != nil {
		return nil, err
	} else if other != "" {
		return refuse(AlertEnrolment, "site "+code+" presented the key of "+other+" to enrol from "+from+": refused",
			&kavach.Error{Code: kavach.ECONFLICT, Message: "Enrolment refused: this key is node " + other + "'s. Each site makes a key of its own when it enrols.", Fields: map[string]string{"verifier": "another node's key"}})
	}
	v, err := note.NewVerifier(verifier)
	if err != nil {
		return nil, &kavach.Error{Code: kavach.EINVALID, Message: "The site's key is not a note verifier key.", Fields: map[string]string{"verifier": "not a verifier key (name+hash+key)"}}
	}
	if v.Name() != "kavach/"+info.HospitalCode+"/"+code {
		return nil, &kavach.Error{Code: kavach.EINVALID, Message: "The site's key must be named kavach/" + info.HospitalCode + "/" + code + ".", Fields: map[string]string{"verifier": "wrong key name"}}
	}
	cred, err := randomToken(SiteCredentialPrefix)
	if err != nil {
		return nil, err
	}
	var out *Enrolment
	var refusal string
	err = n.Do(ctx, "system", func(tx *Tx) error {
		if other, err := keyOwner(ctx, tx, code, verifier); err != nil || other != "" {
			refusal = "site " + code + " presented the key of " + other + " to enrol from " + from + ": refused"
			return err
		}
		var s Site
		var enrolled string
		if err := tx.QueryRow(`SELECT code, name, token_base, enrolled FROM sites WHERE code = ?`, code).Scan(&s.Code, &s.Name, &s.TokenBase, &enrolled); err != nil {
			return fmt.Errorf("site %s: %w", code, err)
		}
		if enrolled != "" {
			refusal = "site " + code + " is already enrolled; a second enrolment from " + from + " was refused"
			return nil
		}
		if _, err := Emit(tx, SiteEnrolled, SiteEnrolment{Code: code, Credential: TokenID(cred), Verifier: verifier}); err != nil {
			return err
		}
		out = &Enrolment{HospitalCode: info.HospitalCode, HospitalName: info.HospitalName, Code: code, Name: s.Name, TokenBase: s.TokenBase,
			Central: info.NodeCode, CentralLog: info.Origin, CentralKey: info.Verifier, Credential: cred}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if refusal != "" {
		return refuse(AlertEnrolment, refusal, &kavach.Error{Code: kavach.ECONFLICT, Message: "Enrolment refused: " + refusal + "."})
	}
	db, err := OpenDB(DBPath(n.dir))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, `UPDATE local_enrolments SET used = ? WHERE id = ?`, time.Now().UTC().Format(journal.TimeFormat), TokenID(token))
	return out, err
}

// keyOwner returns the node other than code whose key has the same key
// material as verifier (name+hash+key), whatever its name, or "".
func keyOwner(ctx context.Context, db journal.DBTX, code, verifier string) (string, error) {
	material := keyMaterial(verifier)
	if material == "" {
		return "", nil
	}
	rows, err := db.QueryContext(ctx, `SELECT origin, verifier FROM origin_trust UNION SELECT node, verifier FROM origin_keys`)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	for rows.Next() {
		var o, v string
		if err := rows.Scan(&o, &v); err != nil {
			return "", err
		}
		if o != code && keyMaterial(v) == material {
			return o, nil
		}
	}
	return "", rows.Err()
}

// keyMaterial is the key part of a verifier, name+hash+key, without the
// name and hash that a renamed copy of the key changes. The key is standard
// base64, which may itself hold a "+", so it is everything after the
// second "+" ("" if there is none).
func keyMaterial(verifier string) string {
	parts := strings.SplitN(verifier, "+", 3)
	if len(parts) != 3 {
		return ""
	}
	return parts[2]
}

// SiteOf returns the site whose sync credential cred is, or an error.
func (n *Node) SiteOf(ctx context.Context, cred string) (string, error) {
	if !strings.HasPrefix(cred, SiteCredentialPrefix) {
		return "", ErrBadToken
	}
	id := TokenID(cred)
	var code, got string
	err := n.reader.QueryRowContext(ctx, `SELECT code, credential FROM sites WHERE credential = ?`, id).Scan(&code, &got)
	if err != nil || subtle.ConstantTimeCompare([]byte(got), []byte(id)) != 1 {
		return "", ErrBadToken
	}
	return code, nil
}

// JoinUpstream makes a new node, initialised from an enrolment, a site of
// its central: it journals the central and its key and keeps the URL and
// the sync credential.
func (n *Node) JoinUpstream(ctx context.Context, en *Enrolment, url string) error {
	if _, err := note.NewVerifier(en.CentralKey); err != nil {
		return fmt.Errorf("node: the central's key: %w", err)
	}
	err := n.Do(ctx, "system", func(tx *Tx) error {
		_, err := Emit(tx, UpstreamEnrolled, UpstreamEnrolment{Central: en.Central, Log: en.CentralLog, URL: url, Verifier: en.CentralKey})
		return err
	})
	if err != nil {
		return err
	}
	return n.SetUpstreamLink(ctx, url, en.Credential)
}

// SetUpstreamLink keeps a site's central URL and sync credential.
func (n *Node) SetUpstreamLink(ctx context.Context, url, cred string) error {
	db, err := OpenDB(DBPath(n.dir))
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, `INSERT INTO local_upstream (id, url, credential) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET url = excluded.url, credential = CASE WHEN excluded.credential = '' THEN local_upstream.credential ELSE excluded.credential END`, url, cred)
	return err
}

// UpstreamLink returns a site's central URL and sync credential.
func (n *Node) UpstreamLink(ctx context.Context) (url, cred string, err error) {
	err = n.reader.QueryRowContext(ctx, `SELECT url, credential FROM local_upstream WHERE id = 1`).Scan(&url, &cred)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil
	}
	return url, cred, err
}

// ApproveKey journals that this node's administrator trusts verifier for
// origin's checkpoints from now on: the new key of a node restored after an
// attack (check it with that node's administrator first).
func (n *Node) ApproveKey(ctx context.Context, actor, origin, verifier, reason string) error {
	origin = strings.ToUpper(strings.TrimSpace(origin))
	verifier = strings.TrimSpace(verifier)
	f := kavach.Fields{}
	if !nodeCodeRE.MatchString(origin) {
		f.Add("origin", "Origin must be a node's two-letter code")
	} else if origin == n.Info().NodeCode {
		f.Add("origin", "This is the node's own code: its own key needs no approval")
	}
	v, err := note.NewVerifier(verifier)
	if err != nil {
		f.Add("key", "Key must be a node's key as its status shows it (name+hash+key)")
	} else if !strings.HasSuffix(v.Name(), "/"+origin) {
		f.Add("key", "This key is "+v.Name()+"'s, not node "+origin+"'s")
	}
	if strings.TrimSpace(reason) == "" {
		reason = "approved by the administrator"
	}
	f.Text("reason", reason)
	if err := f.Err(); err != nil {
		return err
	}
	return n.Do(ctx, actor, func(tx *Tx) error {
		_, err := Emit(tx, NodeKeyApproved, KeyApproval{Origin: origin, Reason: reason, Verifier: verifier})
		return err
	})
}

// LinkStatus is how a site's link to its central is.
type LinkStatus struct {
	URL       string    `json:"url"`
	Reachable bool      `json:"reachable"`
	Pending   uint64    `json:"pending"` // own events the central does not hold yet
	Since     time.Time `json:"since"`   // when it last became reachable or unreachable
	// Oldest is the time of the oldest own event the central does not
	// hold yet (zero if none).
	Oldest time.Time `json:"oldest,omitzero"`
}
