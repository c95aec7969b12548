// Package node is a Kavach hospital node's core: its SQLite database, the
// journal writer that turns commands into events and projection rows with
// group commit, its signing key and its checkpoints.
//
// A hospital service (registration, opd, …) contributes migrations, commands
// and projectors; the node runs every command in the one writer goroutine,
// shares a transaction and an fsync among all commands that arrive together,
// and answers each only after the commit is on disk.
package node

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	_ "modernc.org/sqlite" // the embedded SQL driver

	"kavach/journal"
)

// Projector applies one event to the projection tables. It must depend only
// on the event and the tables, never on the clock or the caller, so that a
// replay of the journal rebuilds the same rows.
type Projector func(tx *Tx, e *journal.Event) error

// Migration is one numbered schema step of a service; steps are only ever appended.
type Migration struct {
	Name string // "registration/001"
	SQL  string
}

// Service is what a hospital service contributes to a node.
type Service struct {
	Migrations []Migration
	Projectors map[string]Projector
}

// Config says how to open a node.
type Config struct {
	Dir             string
	Services        []Service
	CheckpointEvery time.Duration // how often a grown journal gets a new signed checkpoint; default 1s
	MaxBatch        int           // most commands in one transaction; default 512
	Logger          *slog.Logger
	// Init is used on the first start only.
	Init InitConfig
}

// InitConfig names a new node.
type InitConfig struct {
	HospitalCode string // e.g. "KVH"
	HospitalName string
	NodeCode     string // two letters, the namespace of the node's identifiers
}

// Info is the node's identity, from its journal.
type Info struct {
	HospitalCode, HospitalName string
	NodeCode                   string
	Origin                     string // the log origin in checkpoints
	Verifier                   string // the current checkpoint verifier key
}

// Node is an open hospital node.
type Node struct {
	dir        string
	log        *slog.Logger
	wdb, rdb   *sql.DB
	app        *journal.Appender
	signer     note.Signer
	info       Info
	projectors map[string]Projector
	every      time.Duration
	maxBatch   int

	reqs    chan *request
	stop    chan struct{}
	stopped chan struct{}

	mu           sync.Mutex
	changed      chan struct{} // closed and replaced at every commit
	size         uint64        // committed journal size
	lastCPSize   uint64
	lastCPTime   time.Time
	lastCommitAt time.Time

	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt

	running   bool
	closeOnce sync.Once
	closeErr  error
}

// ErrLocked is returned when another process holds the node's write lock for too long.
var ErrLocked = errors.New("node: the database is locked by another process")

// DBPath is the node's database file inside its data directory.
func DBPath(dir string) string { return filepath.Join(dir, "kavach.db") }

// KeyPath is the node's private signing key file.
func KeyPath(dir string) string { return filepath.Join(dir, "node.key") }

func dsn(path string, readonly bool) string {
	q := "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(0)&_pragma=cache_size(-65536)"
	if readonly {
		q += "&_pragma=query_only(1)"
	} else {
		q += "&_txlock=immediate"
	}
	return "file:" + path + q
}

// OpenDB opens a node database for writing with one connection, as the
// writer, tools and tests use it.
func OpenDB(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("node: open %s: %w", path, err)
	}
	return db, nil
}

// Open opens (and on first use initialises) the node in cfg.Dir and starts its writer.
func Open(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.CheckpointEvery <= 0 {
		cfg.CheckpointEvery = time.Second
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 512
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("node: data directory: %w", err)
	}
	if err := os.Chmod(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("node: data directory: %w", err)
	}
	n := &Node{
		dir:        cfg.Dir,
		log:        cfg.Logger,
		projectors: map[string]Projector{},
		every:      cfg.CheckpointEvery,
		maxBatch:   cfg.MaxBatch,
		reqs:       make(chan *request, 4096),
		stop:       make(chan struct{}),
		stopped:    make(chan struct{}),
		changed:    make(chan struct{}),
		stmts:      map[string]*sql.Stmt{},
	}
	services := append([]Service{coreService()}, cfg.Services...)
	var migrations []Migration
	for _, s := range services {
		migrations = append(migrations, s.Migrations...)
		for t, p := range s.Projectors {
			if _, dup := n.projectors[t]; dup {
				return nil, fmt.Errorf("node: two projectors for %s", t)
			}
			n.projectors[t] = p
		}
	}
	var err error
	if n.wdb, err = OpenDB(DBPath(cfg.Dir)); err != nil {
		return nil, err
	}
	// The writer's transaction holds one connection; statements are prepared
	// once on the other and re-prepared by database/sql on the first use in
	// each connection, then reused.
	n.wdb.SetMaxOpenConns(2)
	if err := Migrate(ctx, n.wdb, migrations); err != nil {
		n.wdb.Close()
		return nil, err
	}
	os.Chmod(DBPath(cfg.Dir), 0o600)
	if n.rdb, err = sql.Open("sqlite", dsn(DBPath(cfg.Dir), true)); err != nil {
		n.wdb.Close()
		return nil, err
	}
	n.rdb.SetMaxOpenConns(8)
	n.rdb.SetMaxIdleConns(8)
	if err := n.loadIdentity(ctx, cfg.Init); err != nil {
		n.Close()
		return nil, err
	}
	n.running = true
	go n.run()
	return n, nil
}

// Migrate applies the migrations that db has not seen yet, in order.
func Migrate(ctx context.Context, db *sql.DB, ms []Migration) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS local_migrations (name TEXT PRIMARY KEY, applied TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("node: migrate: %w", err)
	}
	for _, m := range ms {
		var one int
		err := db.QueryRowContext(ctx, `SELECT 1 FROM local_migrations WHERE name = ?`, m.Name).Scan(&one)
		if err == nil {
			continue
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("node: migrate %s: %w", m.Name, err)
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("node: migrate %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			tx.Rollback()
			return fmt.Errorf("node: migrate %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO local_migrations (name, applied) VALUES (?, ?)`, m.Name, time.Now().UTC().Format(time.RFC3339)); err != nil {
			tx.Rollback()
			return fmt.Errorf("node: migrate %s: %w", m.Name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("node: migrate %s: %w", m.Name, err)
		}
	}
	return nil
}

func (n *Node) loadIdentity(ctx context.Context, ic InitConfig) error {
	info, err := readInfo(ctx, n.wdb)
	if errors.Is(err, sql.ErrNoRows) {
		return n.initialise(ctx, ic)
	}
	if err != nil {
		return err
	}
	skey, err := os.ReadFile(KeyPath(n.dir))
	if err != nil {
		return fmt.Errorf("node: signing key: %w (a node whose key is lost is restored with a new key)", err)
	}
	if n.signer, err = note.NewSigner(strings.TrimSpace(string(skey))); err != nil {
		return fmt.Errorf("node: signing key %s: %w", KeyPath(n.dir), err)
	}
	n.info = info
	n.app = journal.NewAppender(info.NodeCode)
	st, err := journal.LoadState(ctx, n.wdb)
	if err != nil {
		return err
	}
	n.size = st.Size
	if cp, err := journal.LatestCheckpoint(ctx, n.wdb); err == nil {
		n.lastCPSize, n.lastCPTime = cp.Size, cp.Time
	}
	return nil
}

func readInfo(ctx context.Context, db journal.DBTX) (Info, error) {
	var i Info
	err := db.QueryRowContext(ctx, `SELECT hospital_code, hospital_name, node_code, origin, verifier FROM node_info WHERE id = 1`).
		Scan(&i.HospitalCode, &i.HospitalName, &i.NodeCode, &i.Origin, &i.Verifier)
	return i, err
}

// Info returns the node's identity.
func (n *Node) Info() Info {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.info
}

// DB is the read-only connection pool for queries outside the writer.
func (n *Node) DB() *sql.DB { return n.rdb }

// Dir is the node's data directory.
func (n *Node) Dir() string { return n.dir }

// Close stops the writer after the commands already queued and closes the database.
func (n *Node) Close() error {
	n.closeOnce.Do(func() { n.closeErr = n.close() })
	return n.closeErr
}

func (n *Node) close() error {
	if n.running {
		select {
		case <-n.stop:
		default:
			close(n.stop)
			<-n.stopped
		}
	}
	n.stmtMu.Lock()
	for _, s := range n.stmts {
		s.Close()
	}
	n.stmtMu.Unlock()
	var err error
	if n.rdb != nil {
		err = n.rdb.Close()
	}
	if n.wdb != nil {
		if e := n.wdb.Close(); e != nil {
			err = e
		}
	}
	return err
}

// Status is the node's journal at a glance.
type Status struct {
	Events         uint64
	LastCommit     time.Time
	CheckpointSize uint64
	CheckpointTime time.Time
	Info           Info
}

// Status returns the committed journal size and the last checkpoint.
func (n *Node) Status() Status {
	n.mu.Lock()
	defer n.mu.Unlock()
	return Status{Events: n.size, LastCommit: n.lastCommitAt, CheckpointSize: n.lastCPSize, CheckpointTime: n.lastCPTime, Info: n.info}
}

// Changed returns a channel that is closed at the next commit, for long polls.
func (n *Node) Changed() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.changed
}
