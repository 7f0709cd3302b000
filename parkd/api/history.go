package api

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/parkd/parkd/parkd"
)

// maxHistoryLimit caps one page so a script cannot make the daemon build
// an unbounded answer.
const maxHistoryLimit = 1000

func (s *server) history(w http.ResponseWriter, r *http.Request) {
	f, err := historyFilter(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page, err := s.c.History(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page.Entries = orEmpty(page.Entries)
	s.reply(w, r, page)
}

// historyFilter reads the query; a bad value names its parameter.
func historyFilter(q url.Values) (parkd.HistoryFilter, error) {
	f := parkd.HistoryFilter{
		Lot: q.Get("lot"), Slot: q.Get("slot"), Caller: q.Get("caller"),
		Outcome: q.Get("outcome"), Cursor: q.Get("cursor"), CallID: q.Get("call_id"),
	}
	var err error
	if f.Since, err = queryTime(q, "since"); err != nil {
		return f, err
	}
	if f.Until, err = queryTime(q, "until"); err != nil {
		return f, err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && f.Until.Before(f.Since) {
		return f, invalid("until", "must not be before since")
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxHistoryLimit {
			return f, invalid("limit", "must be a whole number from 1 to %d (got %q)", maxHistoryLimit, v)
		}
		f.Limit = n
	}
	return f, nil
}

func queryTime(q url.Values, name string) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, invalid(name, "must be an RFC 3339 time like 2025-01-31T09:00:00Z (got %q)", v)
	}
	return t, nil
}
