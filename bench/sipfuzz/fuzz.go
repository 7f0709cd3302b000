package main

import (
	"context"
	"time"
)

// fuzz sends messages from..from+n in order at the rate, stopping early
// if the daemon dies; it returns the first and last index sent in the two
// seconds before a death (nil when the daemon lived).
func fuzz(ctx context.Context, snd *sender, probe *daemonProbe, t Target, o options, r *Report, info func(string, ...any)) []int {
	type sentAt struct {
		index int
		at    time.Time
	}
	var recent []sentAt
	start := time.Now()
	next := 0
	lastNote := start
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for next < o.n {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			due := min(o.n, int(now.Sub(start).Seconds()*float64(o.rate))+1)
			for ; next < due; next++ {
				m := Generate(o.seed, o.from+next, t)
				r.SeedKinds[m.Kind]++
				if len(m.Mutations) == 0 {
					r.Unmutated++
				}
				for _, name := range m.Mutations {
					r.Mutations[name]++
				}
				snd.send(ctx, m)
				recent = append(recent, sentAt{m.Index, time.Now()})
			}
			if !probe.alive() {
				window := []int{o.from + next - 1, o.from + next - 1}
				for _, s := range recent {
					if time.Since(s.at) < 2*time.Second {
						window[0] = min(window[0], s.index)
					}
				}
				info("the daemon died after message %d", o.from+next-1)
				return window
			}
			// Keep the last two seconds (what a death report needs).
			drop := 0
			for drop < len(recent) && now.Sub(recent[drop].at) > 2*time.Second {
				drop++
			}
			if drop > len(recent)/2 {
				recent = append(recent[:0], recent[drop:]...)
			}
			if now.Sub(lastNote) >= 10*time.Second {
				lastNote = now
				info("%d of %d sent", next, o.n)
			}
		}
	}
	return nil
}
