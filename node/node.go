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
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"
	_ "modernc.org/sqlite" // the embedded SQL driver

	"kavach/journal"
)

// bulkNode readies db, a new database, for a bulk load of the services'
// projections (a restore, a replay): it runs every migration and drops the
// secondary indexes, whose statements it returns to be run at the end. The
// caller closes the node's statements with closeStmts.
func bulkNode(ctx context.Context, db *sql.DB, services []Service) (*Node, []string, error) {
	ms, types, err := gather(services)
	if err != nil {
		return nil, nil, err
	}
	if err := Migrate(ctx, db, ms); err != nil {
		return nil, nil, err
	}
	indexes, err := dropIndexes(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	return &Node{wdb: db, types: types, stmts: map[string]*sql.Stmt{}}, indexes, nil
}

// closeStmts closes the writer's prepared statements.
func (n *Node) closeStmts() {
	for _, s := range n.stmts {
		s.Close()
	}
}

// Config says how to open a node.
type Config struct {
	Dir             string
	Services        []Service
	CheckpointEvery time.Duration // how often a grown journal gets a new signed checkpoint; default 1s
	MaxBatch        int           // most commands in one transaction; default 512
	Logger          *slog.Logger
	// Clock is the hospital's clock, time.Now unless a test sets one (that
	// advances, as checkpoints are signed by it): every
	// event's time, and so every service's day (kavach.Day), comes from it.
	Clock func() time.Time
	// Init is used on the first start only.
	Init InitConfig
}

// InitConfig names a new node.
type InitConfig struct {
	HospitalCode string // e.g. "KVH"
	HospitalName string
	NodeCode     string // two letters, the namespace of the node's identifiers
	// Key and Verifier, if set, are the node's signing key and its
	// verifier, made before the node (a site makes its key to enrol); else
	// the first start makes them.
	Key, Verifier string
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
	dir      string
	log      *slog.Logger
	clock    func() time.Time
	wdb, rdb *sql.DB
	ckdb     *sql.DB  // checkpoints the WAL into the database file
	dbFile   *os.File // the database file, for checkpoints to sync; see checkpointAndSync
	reader   *Reader
	app      *journal.Appender
	signer   note.Signer
	info     Info
	types    map[string]*eventType
	every    time.Duration
	maxBatch int

	reqs    chan *request
	stop    chan struct{}
	stopped chan struct{}

	mu           sync.Mutex
	changed      chan struct{} // closed and replaced at every commit
	size         uint64        // committed journal size
	lastCPSize   uint64
	lastCPTime   time.Time
	lastCommitAt time.Time
	stats        WriterStats

	cache map[string]any // the writer's memo; see Tx.Cached

	// The writer's own view of checkpoints it signed (the durable view is
	// lastCPSize and lastCPTime).
	signedCPSize uint64
	signedCPTime time.Time
	writtenSize  uint64 // journal size after the writer's last commit (synced or not)

	syncq    chan *synced // committed batches waiting for their fsync
	syncDone chan struct{}
	unsynced atomic.Int32  // batches in syncq or being synced
	syncFree chan struct{} // a token when unsynced drops to zero
	failed   atomic.Bool

	walRestart atomic.Bool   // the writer should let a checkpoint catch up; see walRestartFrames
	walPasses  atomic.Uint64 // checkpoints the writer ran
	ckDone     chan struct{} // closed when checkpoints returns

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

// Connection modes.
const (
	modeTool   = iota // tools and tests: SQLite syncs every commit itself
	modeWriter        // the node's writer: its syncer fsyncs the WAL
	modeReader        // the read pool
	modeBulk          // a restore's bulk load: synced once at the end
	modeVerify        // verify: reads, in a transaction it begins itself
)

func dsn(path string, mode int) string {
	q := "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(0)&_pragma=cache_size(-65536)"
	switch mode {
	case modeTool:
		q += "&_pragma=synchronous(FULL)&_txlock=immediate"
	case modeWriter:
		// NORMAL, not OFF: commits are not synced (the syncer does that),
		// but the WAL header is synced when the WAL starts again from its
		// beginning, so that a crash cannot mix the header of one
		// generation with the frames of another.
		// journal_size_limit: when the WAL starts again, its file is cut
		// back to a little more than walRestartFrames pages, not less, so
		// that it is not cut and grown again at every restart; and on
		// every connection of the pool, not only the first.
		q += "&_pragma=synchronous(NORMAL)&_pragma=wal_autocheckpoint(0)&_pragma=journal_size_limit(201326592)&_txlock=immediate"
	case modeReader:
		q += "&_pragma=query_only(1)"
	case modeBulk:
		q += "&_pragma=synchronous(OFF)&_pragma=wal_autocheckpoint(10000)&_pragma=cache_size(-262144)&_txlock=immediate"
	}
	return "file:" + path + q
}

// OpenDB opens a node database for writing with one connection, as the
// writer, tools and tests use it.
func OpenDB(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn(path, modeTool))
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
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("node: data directory: %w", err)
	}
	if err := os.Chmod(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("node: data directory: %w", err)
	}
	n := &Node{
		dir:      cfg.Dir,
		log:      cfg.Logger,
		clock:    cfg.Clock,
		every:    cfg.CheckpointEvery,
		maxBatch: cfg.MaxBatch,
		reqs:     make(chan *request, 4096),
		stop:     make(chan struct{}),
		stopped:  make(chan struct{}),
		changed:  make(chan struct{}),
		stmts:    map[string]*sql.Stmt{},
	}
	migrations, types, err := gather(cfg.Services)
	if err != nil {
		return nil, err
	}
	n.types = types
	if n.wdb, err = sql.Open("sqlite", dsn(DBPath(cfg.Dir), modeWriter)); err != nil {
		return nil, err
	}
	if err := n.wdb.PingContext(ctx); err != nil {
		n.wdb.Close()
		return nil, fmt.Errorf("node: open %s: %w", DBPath(cfg.Dir), err)
	}
	// The writer's transaction holds one connection; statements are prepared
	// once on the other and re-prepared by database/sql on the first use in
	// each connection, then reused.
	n.wdb.SetMaxOpenConns(2)
	// The writer does not checkpoint the WAL inside its commits, where
	// copying pages back would stall every waiting request; checkpoints
	// runs beside it (wal_autocheckpoint(0) in dsn).

	if err := Migrate(ctx, n.wdb, migrations); err != nil {
		n.wdb.Close()
		return nil, err
	}
	os.Chmod(DBPath(cfg.Dir), 0o600)
	if n.rdb, err = sql.Open("sqlite", dsn(DBPath(cfg.Dir), modeReader)); err != nil {
		n.wdb.Close()
		return nil, err
	}
	n.rdb.SetMaxOpenConns(8)
	n.rdb.SetMaxIdleConns(8)
	n.reader = &Reader{db: n.rdb, stmts: map[string]*sql.Stmt{}}
	if err := n.loadIdentity(ctx, cfg.Init); err != nil {
		n.Close()
		return nil, err
	}
	if n.ckdb, err = sql.Open("sqlite", dsn(DBPath(cfg.Dir), modeTool)); err != nil {
		n.Close()
		return nil, err
	}
	n.ckdb.SetMaxOpenConns(1)
	// Held open until every connection is closed: closing a descriptor of
	// the database file would release the POSIX locks SQLite holds on it.
	if n.dbFile, err = os.OpenFile(DBPath(cfg.Dir), os.O_RDWR, 0); err != nil {
		n.Close()
		return nil, err
	}
	n.syncq = make(chan *synced, 64)
	n.syncFree = make(chan struct{}, 1)
	n.syncDone = make(chan struct{})
	n.running = true
	go n.syncer()
	go n.run()
	n.ckDone = make(chan struct{})
	go n.checkpoints()
	return n, nil
}

// walRestartFrames is the WAL length (in frames of one page) at which the
// writer lets a checkpoint catch up between two batches, so that the next
// batch writes the WAL from its beginning again. Without that pause the
// checkpoints beside the writer never catch up with it under steady load,
// and the WAL (and every lookup in its index) grows without bound. 32768
// frames of 4 KiB are 128 MiB.
const walRestartFrames = 32768

// walPauseFrames is about how many frames the writer's own pass may have to
// copy: the checkpointer's passes go on until the last one took less.
const walPauseFrames = 2048

// checkpoints copies the WAL back into the database file beside the writer,
// so that commits never do it. Once a second: a page written by many commits
// meanwhile is copied once (every 200 ms cost 1.7 times the CPU at 1M
// patients; docs/benchmarks.md).
func (n *Node) checkpoints() {
	defer close(n.ckDone)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		passes := n.walPasses.Load()
		frames, err := n.checkpointAndSync()
		if err != nil {
			n.log.Warn("WAL checkpoint", "err", err)
			continue
		}
		if frames < walRestartFrames {
			continue
		}
		// Copy what came in meanwhile until little comes in during a pass,
		// so that the writer's pause (a short copy and a sync of the
		// database file) is short. Even if a pass copied everything, the
		// writer may have begun its next transaction before it ended and
		// commit more frames before the next one begins: the WAL starts
		// again only if a transaction begins with every frame copied.
		for i := 0; i < 8; i++ {
			f, err := n.checkpointAndSync()
			if err != nil {
				n.log.Warn("WAL checkpoint", "err", err)
				break
			}
			grew := f - frames
			frames = f
			if grew < walPauseFrames {
				break
			}
		}
		if n.walPasses.Load() == passes {
			// (Otherwise the writer ran its pass meanwhile and the WAL
			// starts again anyway.)
			n.walRestart.Store(true)
		}
	}
}

// checkpointAndSync runs a checkpoint pass beside the writer and then syncs
// the database file. SQLite syncs it only after a pass that copied every
// frame, which under load is only the writer's own pass (frames come in
// during the others): that pass would then flush everything copied since
// the WAL last started again, hundreds of MiB, with every counter waiting
// (400–570 ms at 1M patients; docs/benchmarks.md). Synced here, pass by
// pass, it is left only what the last pass copied.
//
// The sync is through a descriptor of the node's own, opened with the node
// and closed after SQLite's: a descriptor opened and closed here meanwhile
// would release the locks SQLite holds on the file.
func (n *Node) checkpointAndSync() (frames int, err error) {
	frames, _, err = n.checkpointWAL()
	if err != nil || frames == 0 {
		return frames, err
	}
	return frames, n.dbFile.Sync()
}

// checkpointWAL copies the WAL into the database file as far as readers
// allow, on the connection with full sync (the WAL is synced before, and the
// database file after a pass that copied every frame), and returns how many
// frames the WAL holds and how many of them are now in the database file.
func (n *Node) checkpointWAL() (frames, done int, err error) {
	var busy int
	err = n.ckdb.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &done)
	return frames, done, err
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
		if m.Go != nil {
			if err := m.Go(ctx, tx); err != nil {
				tx.Rollback()
				return fmt.Errorf("node: migrate %s: %w", m.Name, err)
			}
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
	code, err := OwnCode(ctx, n.wdb)
	if errors.Is(err, sql.ErrNoRows) {
		return n.initialise(ctx, ic)
	}
	if err != nil {
		return err
	}
	info, err := readInfo(ctx, n.wdb, code)
	if err != nil {
		return fmt.Errorf("node: the identity of %s: %w", code, err)
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
	n.writtenSize = st.Size
	if cp, err := journal.LatestCheckpoint(ctx, n.wdb); err == nil {
		n.lastCPSize, n.lastCPTime = cp.Size, cp.Time
		n.signedCPSize, n.signedCPTime = cp.Size, cp.Time
	}
	// A key replaced on disk (a restore) is journaled before anything is
	// signed with it, so every checkpoint verifies against the journal.
	pub, err := os.ReadFile(PubPath(n.dir))
	if err == nil && strings.TrimSpace(string(pub)) != info.Verifier {
		return n.replaceKey(ctx, strings.TrimSpace(string(pub)), "the node's signing key was replaced (a restore, or a suspected compromise)")
	}
	return nil
}

// PubPath is the file with the verifier of the node's signing key.
func PubPath(dir string) string { return filepath.Join(dir, "node.pub") }

func (n *Node) replaceKey(ctx context.Context, vkey, reason string) error {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return fmt.Errorf("node: %s: %w", PubPath(n.dir), err)
	}
	msg, err := note.Sign(&note.Note{Text: "key check\n"}, n.signer)
	if err != nil {
		return err
	}
	if _, err := note.Open(msg, note.VerifierList(v)); err != nil {
		return fmt.Errorf("node: %s does not match %s", PubPath(n.dir), KeyPath(n.dir))
	}
	r := &request{ctx: ctx, actor: "system", done: make(chan error, 1), cmd: func(tx *Tx) error {
		_, err := Emit(tx, NodeKeyAdded, KeyAdded{Verifier: vkey, Reason: reason})
		return err
	}}
	n.signedCPTime = time.Time{} // sign a checkpoint with the new key at once
	n.commit([]*request{r})
	if err := <-r.done; err != nil {
		return fmt.Errorf("node: journal the new key: %w", err)
	}
	n.info.Verifier = vkey
	return nil
}

// OwnCode returns the code of the node whose journal db holds: the origin
// of its first event. sql.ErrNoRows means the journal is empty.
func OwnCode(ctx context.Context, db journal.DBTX) (string, error) {
	var data []byte
	if err := db.QueryRowContext(ctx, `SELECT data FROM journal_events WHERE idx = 0`).Scan(&data); err != nil {
		return "", err
	}
	e, err := journal.Decode(data)
	if err != nil {
		return "", fmt.Errorf("node: the journal's first event: %w", err)
	}
	return e.Origin, nil
}

func readInfo(ctx context.Context, db journal.DBTX, code string) (Info, error) {
	var i Info
	err := db.QueryRowContext(ctx, `SELECT hospital_code, hospital_name, code, origin, verifier FROM nodes WHERE code = ?`, code).
		Scan(&i.HospitalCode, &i.HospitalName, &i.NodeCode, &i.Origin, &i.Verifier)
	return i, err
}

// Now is the hospital's clock (Config.Clock): what reads use for today, as
// commands use their Tx.Now.
func (n *Node) Now() time.Time {
	if n.clock == nil {
		return time.Now()
	}
	return n.clock()
}

// Info returns the node's identity.
func (n *Node) Info() Info {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.info
}

// DB is the read-only connection pool for queries outside the writer.
func (n *Node) DB() *Reader { return n.reader }

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
			<-n.syncDone
			<-n.ckDone
		}
	}
	n.stmtMu.Lock()
	n.closeStmts()
	n.stmtMu.Unlock()
	var err error
	if n.ckdb != nil {
		// Fold the WAL into the database so the directory is one file at rest.
		n.ckdb.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
		n.ckdb.Close()
	}
	if n.reader != nil {
		n.reader.close()
	}
	if n.rdb != nil {
		err = n.rdb.Close()
	}
	if n.wdb != nil {
		if e := n.wdb.Close(); e != nil {
			err = e
		}
	}
	if n.dbFile != nil {
		n.dbFile.Close()
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

// WriterStats counts the writer's work since the node opened.
type WriterStats struct {
	Batches       uint64        // transactions committed
	Commands      uint64        // commands run (committed or failed)
	ExecTime      time.Duration // running commands
	BusyTime      time.Duration // running commands and committing them (not waiting for the sync, which runs beside the next batch)
	CommitTime    time.Duration // from commit to durable (includes waiting for the sync)
	MaxCommitTime time.Duration
	Syncs         uint64 // fsyncs of the WAL; each covers one or more batches
	SyncTime      time.Duration
}

// Stats returns the writer's counters.
func (n *Node) Stats() WriterStats {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stats
}

// Changed returns a channel that is closed at the next commit, for long polls.
func (n *Node) Changed() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.changed
}

// Reader is the node's read-only connection pool with prepared statements
// cached per query, for the many small reads that requests make.
type Reader struct {
	db    *sql.DB
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

// stmt returns the cached statement for q, preparing it on first use. ok is
// false when the cache is full: queries built from input (a search with many
// words) must not grow it without bound, and run unprepared instead.
func (r *Reader) stmt(ctx context.Context, q string) (s *sql.Stmt, ok bool, err error) {
	r.mu.RLock()
	s = r.stmts[q]
	r.mu.RUnlock()
	if s != nil {
		return s, true, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.stmts[q]; s != nil {
		return s, true, nil
	}
	if len(r.stmts) > 1000 {
		return nil, false, nil
	}
	if s, err = r.db.PrepareContext(ctx, q); err != nil {
		return nil, false, err
	}
	r.stmts[q] = s
	return s, true, nil
}

// QueryContext runs a query with a cached prepared statement.
func (r *Reader) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	s, ok, err := r.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	if !ok {
		return r.db.QueryContext(ctx, q, args...)
	}
	return s.QueryContext(ctx, args...)
}

// QueryRowContext runs a query for one row with a cached prepared statement.
func (r *Reader) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	s, ok, err := r.stmt(ctx, q)
	if err != nil || !ok {
		return r.db.QueryRowContext(ctx, q, args...) // its Scan reports a bad query
	}
	return s.QueryRowContext(ctx, args...)
}

// ExecContext is refused: the pool is read-only; writes go through Do.
func (r *Reader) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return r.db.ExecContext(ctx, q, args...)
}

// QueryRow is QueryRowContext without a context.
func (r *Reader) QueryRow(q string, args ...any) *sql.Row {
	return r.QueryRowContext(context.Background(), q, args...)
}

// PingContext checks the database answers.
func (r *Reader) PingContext(ctx context.Context) error { return r.db.PingContext(ctx) }

func (r *Reader) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.stmts {
		s.Close()
	}
	r.stmts = map[string]*sql.Stmt{}
}

// Qualify puts a table alias before every column of a comma-separated list,
// so a service's column list serves in a join too: Qualify("p.", "a, b").
func Qualify(alias, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = alias + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}
