package sipcore

import (
	"fmt"
	"net"

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
// transactions under way keep the connection they were given.

// readLoopRestartAfter is how many new sources (misses of the source
// cache) a read loop serves before it is restarted: the most the loop
// and the pool remember is then about a megabyte. A variable for tests.
var readLoopRestartAfter = 8192

// errRestartReadLoop ends sipgo's read loop as a closed socket would,
// which it takes quietly.
var errRestartReadLoop = fmt.Errorf("sipcore: restarting the SIP read loop: %w", net.ErrClosed)

// countSource notes a datagram's source; a new one may make a restart due.
// Called from the read loop only.
func (s *stampedConn) countSource(miss bool) {
	if !miss || s.pool == nil {
		return
	}
	if s.newSources++; s.newSources >= readLoopRestartAfter {
		s.newSources = 0
		s.restartDue = true
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
	if !s.restartDue {
		return false
	}
	s.restartDue, s.restarting = false, true
	// The old loop's cleanup deletes every entry that names its own
	// connection. A stand-in on the same socket takes over, first, the
	// listener's own address (parkd's requests leave from it; without an
	// entry sipgo would bind a second socket to it) and the sources of
	// the last datagrams, whose requests may still be looking theirs up.
	// The stand-in's entries from the restart before are dropped where
	// nothing has replaced them since.
	for _, a := range s.carried {
		s.pool.CloseAndDelete(s.standIn, a) // only where it still names the stand-in; closes nothing
	}
	s.standIn = &sip.UDPConnection{PacketConn: s, PacketAddr: s.addr, Listener: true}
	s.carried = s.carried[:0]
	s.pool.Add(s.addr, s.standIn)
	for _, src := range s.recent {
		if src != nil {
			s.pool.Add(src.s, s.standIn)
			s.carried = append(s.carried, src.s)
		}
	}
	return true
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

// restarted reports, once the read loop has returned, whether it ended for
// a restart; false means the socket was closed. Called from the goroutine
// that ran the loop.
func (s *stampedConn) restarted() bool {
	if !s.restarting {
		return false
	}
	s.restarting = false
	s.restarts.Add(1)
	return true
}
