package store

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var histBase = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// seedHistory appends n rows a second apart, cycling through two lots,
// three slots and one call per four rows; row i has ID i+1.
func seedHistory(t *testing.T, s *Store, n int) []HistoryRow {
	t.Helper()
	rows := make([]HistoryRow, n)
	outcomes := []string{"parked", "recall", "retrieved", "abandoned"}
	for i := range rows {
		rows[i] = HistoryRow{
			Time:    histBase.Add(time.Duration(i) * time.Second),
			Lot:     []string{"main", "sales"}[i%2],
			Slot:    fmt.Sprint(701 + i%3),
			CallID:  fmt.Sprintf("call-%d@pbx", i/4),
			Caller:  fmt.Sprintf("\"Caller %d\" <sip:%d@pbx>", i, 2000+i),
			Parker:  "sip:1001@pbx",
			Outcome: outcomes[i%4],
			Detail:  "",
			Parked:  time.Duration(i%4) * 15 * time.Second,
		}
	}
	if err := s.AppendHistory(context.Background(), rows...); err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestAppendHistoryAssignsIDs(t *testing.T) {
	s := openTest(t)
	rows := seedHistory(t, s, 5)
	for i, r := range rows {
		if r.ID != int64(i+1) {
			t.Errorf("rows[%d].ID = %d, want %d", i, r.ID, i+1)
		}
	}
	more := []HistoryRow{{Lot: "main", Slot: "701"}, {Lot: "main", Slot: "702"}}
	if err := s.AppendHistory(context.Background(), more...); err != nil {
		t.Fatal(err)
	}
	if more[0].ID != 6 || more[1].ID != 7 {
		t.Errorf("IDs = %d, %d, want 6, 7", more[0].ID, more[1].ID)
	}
	if err := s.AppendHistory(context.Background()); err != nil {
		t.Errorf("appending nothing: %v", err)
	}
}

func TestHistoryRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	nyc := time.FixedZone("EDT", -4*3600)
	in := HistoryRow{
		Time:    time.Date(2025, 7, 4, 9, 30, 15, 987_654_321, nyc),
		Lot:     "main",
		Slot:    "701",
		CallID:  "a84b4c76e66710@pc33.atlanta.example.com",
		Caller:  `"Zoë Ünïcode" <sip:+33142685300@pbx>`,
		Parker:  "sip:1001@pbx",
		Outcome: "recall",
		Detail:  "recall step 2: ringing 1001, 1002",
		Parked:  95*time.Second + 678*time.Millisecond + 999*time.Microsecond,
	}
	if err := s.AppendHistory(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := s.History(ctx, HistoryQuery{})
	if err != nil || len(got) != 1 {
		t.Fatalf("History = %v, %v", got, err)
	}
	want := in
	want.ID = 1
	want.Time = in.Time.Truncate(time.Millisecond).UTC()
	want.Parked = in.Parked.Truncate(time.Millisecond)
	if !reflect.DeepEqual(got[0], want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got[0], want)
	}
	if got[0].Time.Location() != time.UTC {
		t.Errorf("Time location = %v, want UTC", got[0].Time.Location())
	}
}

func TestHistoryFilters(t *testing.T) {
	s := openTest(t)
	rows := seedHistory(t, s, 24)
	at := func(i int) time.Time { return histBase.Add(time.Duration(i) * time.Second) }

	for _, tc := range []struct {
		name string
		q    HistoryQuery
		want func(i int, r HistoryRow) bool
	}{
		{"all", HistoryQuery{}, func(int, HistoryRow) bool { return true }},
		{"lot", HistoryQuery{Lot: "sales"}, func(_ int, r HistoryRow) bool { return r.Lot == "sales" }},
		{"slot", HistoryQuery{Slot: "702"}, func(_ int, r HistoryRow) bool { return r.Slot == "702" }},
		{"lot and slot", HistoryQuery{Lot: "main", Slot: "703"}, func(_ int, r HistoryRow) bool { return r.Lot == "main" && r.Slot == "703" }},
		{"call id", HistoryQuery{CallID: "call-3@pbx"}, func(_ int, r HistoryRow) bool { return r.CallID == "call-3@pbx" }},
		{"unknown call id", HistoryQuery{CallID: "nope"}, func(int, HistoryRow) bool { return false }},
		{"since is inclusive", HistoryQuery{Since: at(20)}, func(i int, _ HistoryRow) bool { return i >= 20 }},
		{"until is exclusive", HistoryQuery{Until: at(3)}, func(i int, _ HistoryRow) bool { return i < 3 }},
		{"since and until", HistoryQuery{Since: at(5), Until: at(9)}, func(i int, _ HistoryRow) bool { return i >= 5 && i < 9 }},
		// A bound with a fraction of a millisecond must not catch the row
		// on the millisecond before it.
		{"since with a fraction", HistoryQuery{Since: at(5).Add(time.Microsecond)}, func(i int, _ HistoryRow) bool { return i >= 6 }},
		{"until with a fraction", HistoryQuery{Until: at(5).Add(time.Microsecond)}, func(i int, _ HistoryRow) bool { return i <= 5 }},
		{"bounds in another zone", HistoryQuery{Since: at(10).In(time.FixedZone("X", 5*3600)), Until: at(12).In(time.FixedZone("Y", -7*3600))}, func(i int, _ HistoryRow) bool { return i >= 10 && i < 12 }},
		{"slot and time", HistoryQuery{Slot: "701", Since: at(12)}, func(i int, r HistoryRow) bool { return r.Slot == "701" && i >= 12 }},
		{"before", HistoryQuery{Before: 4}, func(i int, _ HistoryRow) bool { return i+1 < 4 }},
		{"before and lot", HistoryQuery{Before: 10, Lot: "main"}, func(i int, r HistoryRow) bool { return i+1 < 10 && r.Lot == "main" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.History(context.Background(), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var want []int64
			for i := len(rows) - 1; i >= 0; i-- {
				if tc.want(i, rows[i]) {
					want = append(want, rows[i].ID)
				}
			}
			if ids := idsOf(got); !reflect.DeepEqual(ids, want) {
				t.Errorf("IDs = %v, want %v", ids, want)
			}
		})
	}
}

func TestHistoryPaging(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	seedHistory(t, s, 25)
	var all []int64
	q := HistoryQuery{Limit: 10}
	for page := 0; ; page++ {
		got, err := s.History(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			break
		}
		if page > 3 {
			t.Fatal("paging does not end")
		}
		all = append(all, idsOf(got)...)
		q.Before = got[len(got)-1].ID
	}
	var want []int64
	for id := int64(25); id >= 1; id-- {
		want = append(want, id)
	}
	if !reflect.DeepEqual(all, want) {
		t.Errorf("paged IDs = %v, want %v", all, want)
	}
}

func TestHistoryLimit(t *testing.T) {
	s := openTest(t)
	rows := make([]HistoryRow, MaxHistoryLimit+50)
	for i := range rows {
		rows[i] = HistoryRow{Time: histBase, Lot: "main", Slot: "701"}
	}
	if err := s.AppendHistory(context.Background(), rows...); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ limit, want int }{
		{0, DefaultHistoryLimit},
		{-5, DefaultHistoryLimit},
		{1, 1},
		{250, 250},
		{MaxHistoryLimit, MaxHistoryLimit},
		{MaxHistoryLimit + 1, MaxHistoryLimit},
		{1 << 40, MaxHistoryLimit},
	} {
		t.Run(fmt.Sprint(tc.limit), func(t *testing.T) {
			got, err := s.History(context.Background(), HistoryQuery{Limit: tc.limit})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.want {
				t.Errorf("Limit %d gave %d rows, want %d", tc.limit, len(got), tc.want)
			}
		})
	}
}

// The history grows without bound, so the filtered queries must be
// answered from an index, not a scan of the table.
func TestHistoryQueriesUseIndexes(t *testing.T) {
	s := openTest(t)
	seedHistory(t, s, 10)
	for _, tc := range []struct {
		name  string
		q     HistoryQuery
		index string
	}{
		{"slot", HistoryQuery{Slot: "701"}, "history_slot"},
		{"lot and slot", HistoryQuery{Lot: "main", Slot: "701"}, "history_slot"},
		{"call id", HistoryQuery{CallID: "call-1@pbx"}, "history_call"},
		{"time range", HistoryQuery{Since: histBase, Until: histBase.Add(time.Minute)}, "history_time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := explainHistory(t, s, tc.q)
			if !strings.Contains(plan, tc.index) {
				t.Errorf("plan does not use %s:\n%s", tc.index, plan)
			}
		})
	}
}

// explainHistory runs EXPLAIN QUERY PLAN on the query History would run.
func explainHistory(t *testing.T, s *Store, q HistoryQuery) string {
	t.Helper()
	query, args := historySQL(q)
	rows, err := s.db.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		b.WriteString(detail + "\n")
	}
	return b.String()
}

func idsOf(rows []HistoryRow) []int64 {
	var ids []int64
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	return ids
}

// On a one-core parkd a batch of history rows is milliseconds of CPU, and
// every INVITE that arrives meanwhile waits for the P: the batch lets
// other goroutines run as it goes. With one P, a goroutine that yields in
// a loop gets a turn only when the batch yields (or blocks).
func TestAppendHistoryLetsOtherGoroutinesRun(t *testing.T) {
	s := openTest(t)
	rows := make([]HistoryRow, 20*yieldEvery)
	for i := range rows {
		rows[i] = HistoryRow{Lot: "main", Slot: fmt.Sprint(701 + i%3), CallID: fmt.Sprintf("call-%d@pbx", i), Outcome: "parked"}
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var turns atomic.Int64
	stop := make(chan struct{})
	spun := make(chan struct{})
	go func() {
		defer close(spun)
		for {
			select {
			case <-stop:
				return
			default:
				turns.Add(1)
				runtime.Gosched()
			}
		}
	}()
	runtime.Gosched() // the spinner is running
	before := turns.Load()
	err := s.AppendHistory(context.Background(), rows...)
	during := turns.Load() - before
	close(stop)
	<-spun
	if err != nil {
		t.Fatal(err)
	}
	// About one turn per yield; without them, only the runtime's
	// preemption (every 10 ms) gives the spinner a turn.
	if want := int64(len(rows) / yieldEvery * 3 / 4); during < want {
		t.Errorf("another goroutine ran %d times during a batch of %d rows, want at least %d (a yield every %d rows)", during, len(rows), want, yieldEvery)
	}
}
