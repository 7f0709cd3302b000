package media

import (
	"sync/atomic"
	"time"
)

// A bridged call's audio that waited in parkd's socket longer than the
// max relay delay is taken in (its source, its DTMF) but not relayed; a
// key press (RFC 4733) is relayed however late. Only the pollers drop:
// the quiet sweep reads its sockets late by design.
// parkd falls that far behind only when its core is short (the host busy,
// more calls than it carries); then every packet relayed late was queued
// behind older ones, so the backlog kept what the callers heard hundreds
// of milliseconds late for as long as it took to drain at the spare
// capacity, and a phone's jitter buffer throws such packets away or
// stretches the conversation's delay to take them. Dropping them costs a
// read each instead of a read and a send, so the relay catches up
// sooner. docs/PERFORMANCE.md (twenty-third pass) has the runs.

// DefaultMaxRelayDelay is rtp.max_relay_delay's default: over a hundred
// times the relay's own p99 at a load it carries, and within ITU-T
// G.114's one-way budget of 150 ms with room for the network.
const DefaultMaxRelayDelay = 100 * time.Millisecond

var maxRelayDelay atomic.Int64 // nanoseconds; 0 relays every packet

func init() { maxRelayDelay.Store(int64(DefaultMaxRelayDelay)) }

// SetMaxRelayDelay sets the max relay delay for every bridge of the
// process from now on; 0 (or less) relays every packet however late.
func SetMaxRelayDelay(d time.Duration) { maxRelayDelay.Store(int64(max(d, 0))) }

// MaxRelayDelay is the max relay delay in force; 0 relays every packet.
func MaxRelayDelay() time.Duration { return time.Duration(maxRelayDelay.Load()) }

// tooLate reports whether a packet the kernel stamped at arrival (Unix
// nanoseconds; 0 when the socket gave no stamp) is too late to relay at
// now. A wait beyond maxLag is not believed: a step of the wall clock,
// or a stamp on another clock (some kernels before 5.18 pass a sender's
// monotonic delivery time through veth), would otherwise silence every
// call.
func tooLate(arrival, now int64) bool {
	limit := maxRelayDelay.Load()
	waited := now - arrival
	return limit > 0 && arrival > 0 && waited > limit && waited <= int64(maxLag)
}
