package store

import (
	"context"
	"database/sql"
	"fmt"
)

// applicationID ("park") marks the file as parkd's, so pointing --data at
// another program's SQLite database is refused instead of adding tables
// to it.
const applicationID = 0x7061726b

// migrations[i] takes the schema from user_version i to i+1. Append only:
// a released step must never change, since databases in the field have
// already run it. Times are unix milliseconds (UTC by definition) and
// durations milliseconds, so the columns sort and compare as integers.
var migrations = []string{
	`
CREATE TABLE overrides (
	scope      TEXT    NOT NULL PRIMARY KEY,
	policy     TEXT    NOT NULL,          -- JSON, opaque to the store
	updated_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE history (
	id        INTEGER NOT NULL PRIMARY KEY, -- rowid: the paging cursor
	time_ms   INTEGER NOT NULL,
	lot       TEXT    NOT NULL,
	slot      TEXT    NOT NULL,
	call_id   TEXT    NOT NULL,
	caller    TEXT    NOT NULL,
	parker    TEXT    NOT NULL,
	outcome   TEXT    NOT NULL,
	detail    TEXT    NOT NULL,
	parked_ms INTEGER NOT NULL
) STRICT;

-- Every history query is "newest first" (ORDER BY id DESC). An index on
-- one column also holds the rowid, so an equality match on slot or
-- call_id walks its rows already in id order, with no sort.
CREATE INDEX history_time ON history (time_ms);
CREATE INDEX history_slot ON history (slot);
CREATE INDEX history_call ON history (call_id);
`,
}

// schemaVersion is the user_version this build creates and understands.
func schemaVersion() int { return len(migrations) }

func (s *Store) migrate(ctx context.Context) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var version, appID int
		if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
			return s.explain(err)
		}
		if err := tx.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
			return s.explain(err)
		}
		if appID != applicationID {
			if err := s.checkForeign(ctx, tx, appID); err != nil {
				return err
			}
		}
		latest := schemaVersion()
		if version > latest {
			return fmt.Errorf("store: %s has schema version %d but this parkd knows only up to %d: %w; run the newer parkd, or move the file aside to start an empty store",
				s.path, version, latest, ErrTooNew)
		}
		for v := version; v < latest; v++ {
			if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
				return fmt.Errorf("store: %s: upgrading schema from version %d to %d: %w", s.path, v, v+1, s.explain(err))
			}
		}
		// PRAGMA takes no bound parameters; both values are our own ints.
		if version != latest || appID != applicationID {
			q := fmt.Sprintf("PRAGMA user_version = %d; PRAGMA application_id = %d", latest, applicationID)
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return s.explain(err)
			}
		}
		return nil
	})
}

// checkForeign accepts a file without parkd's application_id only if it
// is empty: a new file, or one an admin created by hand.
func (s *Store) checkForeign(ctx context.Context, tx *sql.Tx, appID int) error {
	if appID != 0 {
		return fmt.Errorf("store: %s is %w: it belongs to another program (SQLite application_id %#x); point --data at another directory",
			s.path, ErrNotDatabase, appID)
	}
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n); err != nil {
		return s.explain(err)
	}
	if n > 0 {
		return fmt.Errorf("store: %s is %w: it is some other program's SQLite database (%d tables and indexes); point --data at another directory",
			s.path, ErrNotDatabase, n)
	}
	return nil
}
