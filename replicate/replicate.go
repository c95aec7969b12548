// Package replicate is the pulling side of Kavach's one replication
// mechanism: a vault (or a replica) asks a node for the synced events after
// the ones it holds, with a long poll, and checks what comes back against the
// node's signed checkpoint before anything is stored.
package replicate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"kavach/journal"
)

// Client talks to a node's replication endpoints with a read-only token.
type Client struct {
	URL   string // the node, e.g. http://10.0.5.2:8080
	Token string
	HTTP  *http.Client
}

// Batch is one answer: the events after From and a checkpoint over exactly
// the journal up to the last of them.
type Batch struct {
	Origin     string
	Verifier   string // the key the node says it signs with (trusted only if it matches)
	Size       uint64 // the node's synced journal size
	From       uint64
	Events     [][]byte
	Checkpoint []byte
}

// ErrUnreachable wraps failures to reach the node at all.
var ErrUnreachable = errors.New("replicate: source unreachable")

// StatusError is a node's refusal: its HTTP status and what it said.
type StatusError struct {
	Code int
	Body string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("replicate: %d %s: %s", e.Code, http.StatusText(e.Code), e.Body)
}

// Refused reports whether the node refused the token (401 or 403).
func Refused(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && (se.Code == http.StatusUnauthorized || se.Code == http.StatusForbidden)
}

// Pull asks for the events from index from, waiting up to wait for new ones.
func (c *Client) Pull(ctx context.Context, from uint64, wait time.Duration) (*Batch, error) {
	return c.pull(ctx, "", from, wait)
}

// PullOrigin asks for the events of another node's journal that the node
// holds (a site's, on the central), from index from: the answer is as the
// origin itself would give, its checkpoint signed by the origin's key.
func (c *Client) PullOrigin(ctx context.Context, origin string, from uint64, wait time.Duration) (*Batch, error) {
	return c.pull(ctx, origin, from, wait)
}

// Origin is another node's journal that a node holds.
type Origin struct {
	Origin   string `json:"origin"`   // its node code
	Log      string `json:"log"`      // its checkpoints' origin line
	Size     uint64 `json:"size"`     // its events the node holds
	Applied  uint64 `json:"applied"`  // of which applied there
	Verifier string `json:"verifier"` // the key its journal names at Size
}

// Origins is the answer of GET /api/v1/replicate/origins.
type Origins struct {
	Node    string   `json:"node"` // the answering node's code
	Origins []Origin `json:"origins"`
}

// Origins lists the other nodes' journals the node holds. A node that
// holds none, or predates site nodes (a 404), lists none.
func (c *Client) Origins(ctx context.Context) (*Origins, error) {
	var out Origins
	err := c.do(ctx, "GET", strings.TrimRight(c.URL, "/")+"/api/v1/replicate/origins", nil, &out)
	var se *StatusError
	if errors.As(err, &se) && se.Code == http.StatusNotFound {
		return &Origins{}, nil
	}
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func (c *Client) pull(ctx context.Context, origin string, from uint64, wait time.Duration) (*Batch, error) {
	u := strings.TrimRight(c.URL, "/") + "/api/v1/replicate/events?from=" + strconv.FormatUint(from, 10) +
		"&wait=" + url.QueryEscape(strconv.FormatFloat(wait.Seconds(), 'f', 3, 64))
	if origin != "" {
		u += "&origin=" + url.QueryEscape(origin)
	}
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := c.client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, &StatusError{Code: resp.StatusCode, Body: string(bytes.TrimSpace(b))}
	}
	var out struct {
		Origin     string `json:"origin"`
		Verifier   string `json:"verifier"`
		Size       uint64 `json:"size"`
		Checkpoint string `json:"checkpoint"`
		Events     []struct {
			Index uint64 `json:"index"`
			Data  []byte `json:"data"`
		} `json:"events"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("replicate: bad answer: %w", err)
	}
	b := &Batch{Origin: out.Origin, Verifier: out.Verifier, Size: out.Size, From: from, Checkpoint: []byte(out.Checkpoint)}
	for i, e := range out.Events {
		if e.Index != from+uint64(i) {
			return nil, fmt.Errorf("replicate: event %d came as index %d", from+uint64(i), e.Index)
		}
		b.Events = append(b.Events, e.Data)
	}
	return b, nil
}

// SendCosignature tells the node that the vault verified and stored its
// journal up to a checkpoint.
func (c *Client) SendCosignature(ctx context.Context, vault string, cosigned []byte) error {
	body, _ := json.Marshal(map[string]string{"vault": vault, "checkpoint": string(cosigned)})
	req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimRight(c.URL, "/")+"/api/v1/replicate/cosignature", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client().Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("replicate: cosignature: %w", &StatusError{Code: resp.StatusCode, Body: string(bytes.TrimSpace(b))})
	}
	return nil
}

func (c *Client) client() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 90 * time.Second}
}

// Check verifies a batch against the trusted origin and key: the checkpoint's
// signature, that it covers exactly the batch's end, and that every event's
// bytes are canonical. An empty batch has nothing to check. Whether the
// events extend the history already held is for the store to check against
// its tree.
func Check(b *Batch, origin string, v note.Verifier) error {
	if len(b.Events) == 0 {
		return nil
	}
	cp, err := journal.OpenCheckpoint(b.Checkpoint, origin, v)
	if err != nil {
		return err
	}
	if end := b.From + uint64(len(b.Events)); cp.Size != end {
		return fmt.Errorf("replicate: checkpoint covers %d events, the batch ends at %d", cp.Size, end)
	}
	for i, data := range b.Events {
		if _, err := journal.Decode(data); err != nil {
			return fmt.Errorf("replicate: event %d: %w", b.From+uint64(i), err)
		}
	}
	return nil
}

// Site nodes use the same verified replication with the central: a site
// pulls every other node's journal from the central (Feed) and offers its
// own (Push); the receiving node checks each run against its origin's
// signed checkpoint, as the vault does. The site authenticates with the
// sync credential it was given at enrolment, as Token.

// Run is one origin's events in a feed: from index From, with the origin's
// checkpoint over exactly their end.
type Run struct {
	Origin     string     `json:"origin"`
	From       uint64     `json:"from"`
	Events     []RawEvent `json:"events"`
	Checkpoint string     `json:"checkpoint"`
}

// RawEvent is an event's bytes and its index in its origin's journal.
type RawEvent struct {
	Index uint64 `json:"index"`
	Data  []byte `json:"data"`
}

// Feed is the central's answer to a site's pull.
type Feed struct {
	Node string `json:"node"` // the answering node's code
	Held uint64 `json:"held"` // how many of the asking site's own events it holds
	Runs []Run  `json:"runs"`
}

// Feed asks for the events of every origin past what have says this node
// holds, waiting up to wait for some; mine is the asking site's own journal
// size (for the central's view of what is pending).
func (c *Client) Feed(ctx context.Context, have map[string]uint64, mine uint64, wait time.Duration) (*Feed, error) {
	var hv []string
	for o, n := range have {
		hv = append(hv, o+":"+strconv.FormatUint(n, 10))
	}
	u := strings.TrimRight(c.URL, "/") + "/api/v1/replicate/feed?have=" + url.QueryEscape(strings.Join(hv, ",")) +
		"&mine=" + strconv.FormatUint(mine, 10) + "&wait=" + strconv.FormatFloat(wait.Seconds(), 'f', 3, 64)
	var out Feed
	if err := c.do(ctx, "GET", u, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Pushed is the answer to a push.
type Pushed struct {
	Held    uint64 `json:"held"`
	Stored  int    `json:"stored"`
	Applied int    `json:"applied"`
}

// Push offers a run of the site's own journal. A *StatusError of 409 with
// Held set means the central holds another number of events: push from there.
func (c *Client) Push(ctx context.Context, r *Run) (*Pushed, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	var out Pushed
	err = c.do(ctx, "POST", strings.TrimRight(c.URL, "/")+"/api/v1/replicate/push", body, &out)
	return &out, err
}

// Enrol sends a site's enrolment token and new key to the central; the
// answer (node.Enrolment's JSON) is decoded into out.
func (c *Client) Enrol(ctx context.Context, token, verifier string, out any) error {
	body, _ := json.Marshal(map[string]string{"token": token, "verifier": verifier})
	return c.do(ctx, "POST", strings.TrimRight(c.URL, "/")+"/api/v1/sites/enroll", body, out)
}

// do makes a request with the token and decodes a 200 or 201 answer's JSON
// into out; any other answer is a *StatusError, and, for a 409 carrying
// "held", out is decoded too.
func (c *Client) do(ctx context.Context, method, u string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.client().Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<30))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		if resp.StatusCode == http.StatusConflict {
			json.Unmarshal(b, out)
		}
		return &StatusError{Code: resp.StatusCode, Body: string(bytes.TrimSpace(b[:min(len(b), 4096)]))}
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("replicate: bad answer from %s: %w", u, err)
	}
	return nil
}
