package store

import (
	"context"
	"database/sql"
	"runtime"
	"strings"
	"time"
)

// HistoryRow is one thing that happened to a parked call: a park,
// retrieve, recall step, abandon or hangup. Outcome and Detail are the
// daemon's words; the store only records them.
type HistoryRow struct {
	ID      int64 // assigned on insert; increases with insertion order
	Time    time.Time
	Lot     string
	Slot    string
	CallID  string
	Caller  string
	Parker  string
	Outcome string
	Detail  string
	Parked  time.Duration // how long the call had been parked at Time
}

// Query limits: the default keeps an unqualified request cheap, the cap
// keeps one request from holding a read snapshot (and the WAL) for long.
const (
	DefaultHistoryLimit = 100
	MaxHistoryLimit     = 10000
)

// HistoryQuery selects history rows; zero fields do not filter.
type HistoryQuery struct {
	Lot, Slot, CallID string
	// Caller matches rows whose caller contains it (name, number or URI),
	// case-insensitively; Outcome matches exactly (parked, retrieved…).
	Caller, Outcome string
	Since           time.Time // inclusive
	Until           time.Time // exclusive
	// Limit is the page size: 0 (or less) means DefaultHistoryLimit, more
	// than MaxHistoryLimit means MaxHistoryLimit.
	Limit int
	// Before pages backwards: only rows with ID < Before. Pass the last
	// ID of one page to get the next.
	Before int64
}

const insertHistory = `INSERT INTO history
	(time_ms, lot, slot, call_id, caller, parker, outcome, detail, parked_ms)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

// yieldEvery is how many rows a batch inserts between letting other
// goroutines run. A batch is a few hundred rows at 1,000 calls a second,
// some 5 ms of CPU: held at once, on a one-core parkd, every INVITE that
// arrived meanwhile waited for it, and for the backlog it left. 16 rows
// are a few hundred µs; a yield after every row cost the batch 30 % more
// time with two Ps (the goroutine moved between them).
const yieldEvery = 16

// AppendHistory writes rows in one transaction: all or none. A row's ID
// is ignored and, once committed, set to the assigned one in rows (visible
// to a caller who passed a slice with rows...). A zero Time means now.
// Times keep millisecond precision.
func (s *Store) AppendHistory(ctx context.Context, rows ...HistoryRow) error {
	return s.appendHistory(ctx, rows)
}

// appendHistory is AppendHistory over several slices, so the writer can
// hand over its queue chunks without copying them into one.
func (s *Store) appendHistory(ctx context.Context, batches ...[]HistoryRow) error {
	n := 0
	for _, b := range batches {
		n += len(b)
	}
	if n == 0 {
		return nil
	}
	ids := make([]int64, 0, n)
	now := time.Now()
	// The rows' inserts run without ctx's cancellation: modernc's driver
	// starts a goroutine for every statement given a context that can
	// end, 2,000 a second at 1,000 calls a second. ctx is checked before
	// each row instead, so an ended one still stops the batch between
	// two rows with its own error; the transaction is rolled back and
	// the commit stays interruptible.
	rowCtx := context.WithoutCancel(ctx)
	err := s.write(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, insertHistory)
		if err != nil {
			return s.explain(err)
		}
		defer stmt.Close()
		for _, b := range batches {
			for _, r := range b {
				if err := ctx.Err(); err != nil {
					return err // at once, and named as before: rowCtx cannot say it
				}
				t := r.Time
				if t.IsZero() {
					t = now
				}
				res, err := stmt.ExecContext(rowCtx, t.UnixMilli(), r.Lot, r.Slot, r.CallID, r.Caller, r.Parker,
					r.Outcome, r.Detail, r.Parked.Milliseconds())
				if err != nil {
					return s.explain(err)
				}
				id, err := res.LastInsertId()
				if err != nil {
					return s.explain(err)
				}
				ids = append(ids, id)
				if len(ids)%yieldEvery == 0 {
					runtime.Gosched()
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, b := range batches {
		for i := range b {
			b[i].ID, ids = ids[0], ids[1:]
		}
	}
	return nil
}

// History returns the rows matching q, newest (highest ID) first.
func (s *Store) History(ctx context.Context, q HistoryQuery) ([]HistoryRow, error) {
	query, args := historySQL(q)
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.explain(err)
	}
	defer rows.Close()
	var out []HistoryRow
	for rows.Next() {
		var r HistoryRow
		var t, parked int64
		if err := rows.Scan(&r.ID, &t, &r.Lot, &r.Slot, &r.CallID, &r.Caller, &r.Parker,
			&r.Outcome, &r.Detail, &parked); err != nil {
			return nil, s.explain(err)
		}
		r.Time = time.UnixMilli(t).UTC()
		r.Parked = time.Duration(parked) * time.Millisecond
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.explain(err)
	}
	return out, nil
}

func historySQL(q HistoryQuery) (string, []any) {
	var where []string
	var args []any
	add := func(cond string, arg any) {
		where = append(where, cond)
		args = append(args, arg)
	}
	if q.Lot != "" {
		add("lot = ?", q.Lot)
	}
	if q.Slot != "" {
		add("slot = ?", q.Slot)
	}
	if q.CallID != "" {
		add("call_id = ?", q.CallID)
	}
	if q.Caller != "" {
		add(`caller LIKE ? ESCAPE '\'`, "%"+likeEscaper.Replace(q.Caller)+"%")
	}
	if q.Outcome != "" {
		add("outcome = ?", q.Outcome)
	}
	// Stored times are whole milliseconds, so rounding a bound up keeps
	// "t >= Since" and "t < Until" exact for a bound with a fraction.
	if !q.Since.IsZero() {
		add("time_ms >= ?", ceilMilli(q.Since))
	}
	if !q.Until.IsZero() {
		add("time_ms < ?", ceilMilli(q.Until))
	}
	if q.Before > 0 {
		add("id < ?", q.Before)
	}
	query := "SELECT id, time_ms, lot, slot, call_id, caller, parker, outcome, detail, parked_ms FROM history"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC LIMIT ?"
	return query, append(args, clampLimit(q.Limit))
}

// likeEscaper makes a LIKE pattern match its text literally.
var likeEscaper = strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`)

func clampLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultHistoryLimit
	case n > MaxHistoryLimit:
		return MaxHistoryLimit
	}
	return n
}

func ceilMilli(t time.Time) int64 {
	ms := t.UnixMilli() // floors, also before 1970
	if t.Nanosecond()%int(time.Millisecond) != 0 {
		ms++
	}
	return ms
}
