// Package store is parkd's persistent state: recall-policy overrides set
// while the daemon runs, and the park/retrieve/recall history. It is one
// SQLite file (pure Go driver, so parkd stays a static binary) in WAL mode,
// so the API can read history while the daemon writes it.
//
// The package knows nothing about parkd's types: scopes, policies and
// outcomes are opaque strings and bytes chosen by the daemon, which keeps
// the dependency pointing one way (parkd imports store).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// FileName is the database's name inside the data directory.
const FileName = "parkd.db"

// busyTimeoutMS bounds how long a statement waits for another process
// (an admin's sqlite3 shell, a backup) holding the write lock.
const busyTimeoutMS = 5000

// Errors an admin can act on; Open wraps them with the path and a hint,
// and callers can tell them apart with errors.Is.
var (
	ErrNotWritable = errors.New("not writable")
	ErrNotDatabase = errors.New("not a parkd database")
	ErrTooNew      = errors.New("database is newer than this parkd")
	ErrNoWAL       = errors.New("WAL journal mode unavailable")
)

// Store is an open parkd database. It is safe for concurrent use.
type Store struct {
	db   *sql.DB
	path string
	// wlock serialises this process's write transactions in Go, so they
	// queue on a channel (and honour ctx) instead of spinning in SQLite's
	// busy handler against each other.
	wlock chan struct{}
}

// Open creates dir (0700: the history names callers) if needed and opens
// dir/parkd.db, creating or upgrading its schema.
func Open(ctx context.Context, dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("store: no data directory given")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("store: data directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("store: cannot create data directory %s: %w", abs, unwrapPathError(err))
	}
	if err := probeWritable(abs); err != nil {
		return nil, err
	}
	path := filepath.Join(abs, FileName)
	if err := probeFiles(path); err != nil {
		return nil, err
	}

	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	// WAL lets readers run beside the one writer; a few connections is
	// plenty for the API's history reads next to the history writer.
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	s := &Store{db: db, path: path, wlock: make(chan struct{}, 1)}
	if err := s.setup(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// dsn builds a file: URI so that a data directory containing '?', '#' or
// '%' cannot be mistaken for query parameters. Pragmas go in the DSN
// because database/sql may open a new connection at any time and each one
// needs them.
func dsn(path string) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	// IMMEDIATE takes the write lock at BEGIN, where busy_timeout applies;
	// a deferred transaction upgrading to a writer mid-way gets SQLITE_BUSY
	// at once, without waiting.
	q.Set("_txlock", "immediate")
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	return u.String()
}

func (s *Store) setup(ctx context.Context) error {
	// sql.Open does not touch the file; the first statement opens it, runs
	// the DSN pragmas and is where a non-database file is found.
	var mode string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return s.explain(err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("store: %s: %w (journal mode is %q; is the data directory on a network filesystem? put it on a local disk)", s.path, ErrNoWAL, mode)
	}
	if err := s.quickCheck(ctx); err != nil {
		return err
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}
	return nil
}

// Path is the database file, for logs and error messages.
func (s *Store) Path() string { return s.path }

// Close closes the database. Close HistoryWriters first: rows they still
// hold cannot be written afterwards.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: closing %s: %w", s.path, err)
	}
	return nil
}

// write runs fn in an immediate transaction, one at a time per process.
func (s *Store) write(ctx context.Context, fn func(*sql.Tx) error) error {
	select {
	case s.wlock <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.wlock }()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.explain(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.explain(err)
	}
	return nil
}

// probeWritable catches an unwritable data directory up front: SQLite
// would only say "unable to open database file", and even an existing,
// writable parkd.db is unusable in WAL mode if the directory cannot hold
// its -wal and -shm files.
func probeWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".parkd-probe-*")
	if err != nil {
		return fmt.Errorf("store: data directory %s is %w by this user (uid %d): %v; parkd keeps %s and its -wal and -shm files there",
			dir, ErrNotWritable, os.Geteuid(), unwrapPathError(err), FileName)
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return nil
}

// probeFiles checks that the database and its WAL files, where they
// exist, can be written: SQLite would open a read-only file read-only
// without a word, and parkd would only fail at its first write.
func probeFiles(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("store: %s: %w", p, unwrapPathError(err))
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("store: %s is %w: it is a directory or device, not a regular file", p, ErrNotDatabase)
		}
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("store: %s is %w by this user (uid %d): %v; check its owner and permissions (was parkd once run as another user?)",
				p, ErrNotWritable, os.Geteuid(), unwrapPathError(err))
		}
		f.Close()
	}
	return nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// explain turns SQLite result codes into sentences that name the file and
// suggest a fix; anything unrecognised keeps SQLite's own message.
func (s *Store) explain(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return fmt.Errorf("store: %s: %w", s.path, err)
	}
	switch se.Code() & 0xff { // extended codes share the primary code's low byte
	case sqlite3.SQLITE_NOTADB:
		return fmt.Errorf("store: %s is %w: the file is not an SQLite database (overwritten or encrypted?); move it aside and parkd will start a new one", s.path, ErrNotDatabase)
	case sqlite3.SQLITE_CORRUPT:
		return fmt.Errorf("store: %s is corrupt (%v); restore a backup or move it aside and parkd will start a new one", s.path, err)
	case sqlite3.SQLITE_CANTOPEN:
		return fmt.Errorf("store: cannot open %s (%v); check that it and its directory are readable and writable by uid %d", s.path, err, os.Geteuid())
	case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM:
		return fmt.Errorf("store: %s is %w (%v); check its owner and permissions, and those of its -wal and -shm files", s.path, ErrNotWritable, err)
	case sqlite3.SQLITE_FULL:
		return fmt.Errorf("store: %s: the disk is full (%v)", s.path, err)
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return fmt.Errorf("store: %s is locked by another process for over %d ms (another parkd on the same data directory, or an open sqlite3 shell?): %v", s.path, busyTimeoutMS, err)
	case sqlite3.SQLITE_IOERR:
		return fmt.Errorf("store: I/O error on %s (failing disk or filesystem?): %v", s.path, err)
	}
	return fmt.Errorf("store: %s: %w", s.path, err)
}
