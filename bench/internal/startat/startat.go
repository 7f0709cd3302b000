// Package startat lines up the measurement windows of two benchmark
// processes (bench/moh, bench/relay) given the same -start-at time, so a
// shared machine's noise costs both runs alike.
package startat

import (
	"fmt"
	"io"
	"time"
)

// lateBy is how late a window may start before the paired run is
// told it measured other moments.
const lateBy = 100 * time.Millisecond

// Wait sleeps until window (0-based) of a run whose first window starts
// at first and whose windows are period apart. The first window's time
// having passed is an error: setup took longer than the lead it was
// given. A later window that starts late is reported on w.
func Wait(w io.Writer, first time.Time, window int, period time.Duration) error {
	return wait(w, time.Now, time.Sleep, first, window, period)
}

func wait(w io.Writer, now func() time.Time, sleep func(time.Duration), first time.Time, window int, period time.Duration) error {
	at := first.Add(time.Duration(window) * period)
	d := at.Sub(now())
	switch {
	case d > 0:
		sleep(d)
	case window == 0:
		return fmt.Errorf("-start-at is %v in the past", -d.Round(time.Millisecond))
	case d < -lateBy:
		fmt.Fprintf(w, "window %d starts %v late: the last one overran its slot\n", window+1, -d.Round(time.Millisecond))
	}
	return nil
}
