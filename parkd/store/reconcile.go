package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrDamaged says PRAGMA quick_check found the database inconsistent.
var ErrDamaged = errors.New("failed its integrity check")

// quickCheck runs PRAGMA quick_check (O(N), without the index-content
// check of integrity_check), so a damaged store stops parkd at start
// with a sentence, instead of failing some write hours later.
func (s *Store) quickCheck(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, "PRAGMA quick_check(5)")
	if err != nil {
		return s.explain(err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return s.explain(err)
		}
		if line != "ok" {
			problems = append(problems, strings.Join(strings.Fields(line), " "))
		}
	}
	if err := rows.Err(); err != nil {
		return s.explain(err)
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("store: %s %w (PRAGMA quick_check: %s); stop parkd, move %s and its -wal and -shm files aside or restore them from a backup, and start again: parkd then creates an empty store (`sqlite3 OLDFILE .recover` may save the history)",
		s.path, ErrDamaged, strings.Join(problems, "; "), FileName)
}

// CloseOpenCalls finds every call whose newest history row leaves it
// parked, that is whose outcome is not one of ended, and appends a row
// with outcome and detail for it, at at, in one transaction. A daemon
// that was killed (kill -9, a crash, power loss) never wrote how its
// parked calls ended; this is how the history stops showing them parked
// forever. It returns the rows it appended.
func (s *Store) CloseOpenCalls(ctx context.Context, ended []string, outcome, detail string, at time.Time) ([]HistoryRow, error) {
	var added []HistoryRow
	err := s.write(ctx, func(tx *sql.Tx) error {
		// history_call walks each call's rows in id order, so max(id)
		// per call is an index scan.
		query := `SELECT lot, slot, call_id, caller, parker, time_ms, parked_ms FROM history
			WHERE id IN (SELECT max(id) FROM history GROUP BY call_id)`
		args := make([]any, 0, len(ended))
		if len(ended) > 0 {
			query += " AND outcome NOT IN (?" + strings.Repeat(", ?", len(ended)-1) + ")"
			for _, o := range ended {
				args = append(args, o)
			}
		}
		rows, err := tx.QueryContext(ctx, query+" ORDER BY id", args...)
		if err != nil {
			return s.explain(err)
		}
		var open []HistoryRow
		for rows.Next() {
			var r HistoryRow
			var t, parked int64
			if err := rows.Scan(&r.Lot, &r.Slot, &r.CallID, &r.Caller, &r.Parker, &t, &parked); err != nil {
				rows.Close()
				return s.explain(err)
			}
			last := time.UnixMilli(t).UTC()
			r.Time, r.Outcome = at, outcome
			r.Detail = fmt.Sprintf("%s (last seen %s)", detail, last.Format(time.RFC3339))
			r.Parked = time.Duration(parked) * time.Millisecond
			open = append(open, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return s.explain(err)
		}
		for _, r := range open {
			res, err := tx.ExecContext(ctx, insertHistory, r.Time.UnixMilli(), r.Lot, r.Slot, r.CallID, r.Caller, r.Parker,
				r.Outcome, r.Detail, r.Parked.Milliseconds())
			if err != nil {
				return s.explain(err)
			}
			if r.ID, err = res.LastInsertId(); err != nil {
				return s.explain(err)
			}
			added = append(added, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return added, nil
}
