package sipcore

import (
	"fmt"
	"net"
	"sync/atomic"

	"github.com/emiago/sipgo/sip"
)

// sipgo's UDP read loop remembers every source address it reads a message
// from, in the transport's connection pool and in a map of its own, for
// as long as the loop runs: about 120 bytes per address, and a spoofed
// source costs the sender nothing (bench/sourceflood.sh). parkd cannot
// reach the loop's map, so after readLoopRestartAfter new sources it ends
// the loop and starts a fresh one on the same socket: the old loop's
// cleanup drops its map and the pool entries it made. A restart loses no
// datagram (the socket's reader keeps what it has read ahead), and the
// transactions under way keep the connection they were given. A loop
// taken over (inline_invite.go) ends the same way, and has the loop
// reading restart after it.

// readLoopRestartAfter is how many new sources (misses of the source
// cache) a read loop serves before it is restarted: the most the loop
// and the pool remember is then about a megabyte. A variable for tests.
var readLoopRestartAfter = 8192

// errRestartReadLoop ends sipgo's read loop as a closed socket would,
// which it takes quietly.
var errRestartReadLoop = fmt.Errorf("sipcore: restarting the SIP read loop: %w", net.ErrClosed)

// countSource notes a datagram's source; a new one may make a restart due.
// Called with carryMu held.
func (s *stampedConn) countSource(miss bool) {
	if !miss || s.pool == nil {
		return
	}
	if s.newSources++; s.newSources >= readLoopRestartAfter {
		s.newSources = 0
		s.restartDue.Store(true)
	}
}

// restartCarry is how many of the last datagrams' sources keep their
// pool entry over a restart. sipgo looks a request's source up in the pool
// on a goroutine of its own, after the loop has read the request; an entry
// the old loop's cleanup deleted in between would make sipgo answer from a
// new socket, which a phone behind NAT never hears.
const restartCarry = 256

// endLoopForRestart ends the read loop when a restart is due: ReadFrom
// returns its error before reading the next datagram.
func (s *stampedConn) endLoopForRestart() bool {
	if !s.restartDue.Load() {
		return false
	}
	s.carryMu.Lock()
	defer s.carryMu.Unlock()
	s.restartDue.Store(false)
	s.carryOver()
	s.restartExits.Add(1)
	return true
}

// carryOver is the ending loop's part before its cleanup runs. The old
// loop's cleanup deletes every entry that names its own connection. A
// stand-in on the same socket takes over, first, the listener's own
// address (parkd's requests leave from it; without an entry sipgo would
// bind a second socket to it) and the sources of the last datagrams,
// whose requests may still be looking theirs up. Then the stand-in's
// entries from the carry before are dropped where nothing has replaced
// them since: after, so that a source in both never misses one. The
// loop that reads next must start afresh (a restart), since sipgo adds
// a source's entry only when it differs from the last one the loop
// passed on: a loop reading on would not make again an entry this
// replaced and a later carry drops. Called with carryMu held.
func (s *stampedConn) carryOver() {
	if s.pool == nil {
		return
	}
	before, dropped := s.standIn, s.carried
	s.standIn = &sip.UDPConnection{PacketConn: s, PacketAddr: s.addr, Listener: true}
	s.carried = make([]string, 0, len(s.recent))
	s.pool.Add(s.addr, s.standIn)
	seen := make(map[string]bool, len(s.recent))
	for _, src := range s.recent {
		if src != nil && !seen[src.s] {
			seen[src.s] = true
			s.pool.Add(src.s, s.standIn)
			s.carried = append(s.carried, src.s)
		}
	}
	for _, a := range dropped {
		s.pool.CloseAndDelete(before, a) // only where it still names that stand-in; closes nothing
	}
}

// noteRecent keeps the source of a datagram just read among the last
// restartCarry.
func (s *stampedConn) noteRecent(src *udpSource) {
	if s.pool == nil {
		return
	}
	s.recent[s.recentNext] = src
	s.recentNext = (s.recentNext + 1) % restartCarry
}

// loopEnded says, once a read loop has returned, what its goroutine does
// next: serve a new loop (again: a restart), or end; retired when the
// loop was taken over (inline_invite.go), whose goroutine handed its
// place among the listeners' to the loop that took over. Which loop's
// ending a goroutine takes does not matter, only that each is taken
// once: the loops left serving, and the goroutines counted, come out
// the same.
func (s *stampedConn) loopEnded() (again, retired bool) {
	if takeOne(&s.retiredExits) {
		return false, true
	}
	if takeOne(&s.restartExits) {
		s.restarts.Add(1)
		return true, false
	}
	return false, false
}

// takeOne decrements n if it is above zero, and says whether it did.
func takeOne(n *atomic.Int32) bool {
	for {
		v := n.Load()
		if v <= 0 {
			return false
		}
		if n.CompareAndSwap(v, v-1) {
			return true
		}
	}
}
