package sipcore

import (
	"runtime"

	"github.com/emiago/sipgo/sip"
)

// New calls are answered before the rest of the SIP work waiting for the
// CPU. A caller hears ringing until its INVITE is answered; a BYE, an ACK
// or an OPTIONS answered a few milliseconds later changes nothing anyone
// hears. On a busy one-core parkd (issue 14's 1,000 pairs/s) every
// request waits its turn on the P's run queue, first in first out, so an
// INVITE waited behind the teardown of the calls that came before it.
//
// Go has no goroutine priorities, but the scheduler gives two levels:
// a goroutine that yields (runtime.Gosched) goes to the global run queue,
// which a P serves only when its own queue is empty (and one time in 61,
// so nothing starves), while the goroutine sipgo starts for each new
// request waits on the local queue. Work that is not a call's setup
// yields once before it starts; the relay's pollers already yield after
// every round. With several Ps the yield costs a goroutine switch and
// orders nothing, which is harmless.

// YieldToNewCalls lets the INVITEs waiting for the CPU run first: called
// by work that can wait a few milliseconds (tearing a call down).
func YieldToNewCalls() { runtime.Gosched() }

// setsUpCalls is whether requests of method m go first: INVITE, and
// CANCEL, which stops a call's setup.
func setsUpCalls(m sip.RequestMethod) bool { return m == sip.INVITE || m == sip.CANCEL }
