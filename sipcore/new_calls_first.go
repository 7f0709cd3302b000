package sipcore

import (
	"runtime"

	"github.com/emiago/sipgo/sip"
)

// New calls are answered before SIP work that can wait. A caller hears
// ringing until its INVITE is answered, and a retrieved call is bridged
// when the retriever's ACK comes; a BYE, an OPTIONS or a SUBSCRIBE
// answered a few milliseconds later changes nothing anyone hears. On a
// busy one-core parkd (issue 14's 1,000 pairs/s) an INVITE waited on the
// run queue behind the teardown of the calls before it.
//
// Go has no goroutine priorities; this is a best effort that orders the
// requests sipgo has already read. A goroutine that yields
// (runtime.Gosched) waits on the global run queue, which a P takes from
// once its own queue is empty (and one schedule in 61, so nothing
// starves), while the goroutine sipgo starts for each request it reads
// waits on the P's own queue (the newest one first). So the requests
// that can wait yield once before their handler, and a request read
// after them still waits for what is ahead of it. The relay's pollers
// yield after every round too, so a yielded BYE also waits for them;
// under a deep backlog the runtime moves work between the two queues
// and orders nothing. With several Ps a yield costs a goroutine switch
// and orders little, which is harmless.

// YieldToNewCalls lets the INVITEs waiting for the CPU run first: called
// by work that can wait a few milliseconds (tearing a call down).
func YieldToNewCalls() { runtime.Gosched() }

// goesFirst is whether requests of method m skip the yield: INVITE; ACK,
// which a retrieve waits for before it bridges the calls; and REFER, a
// transfer into a slot. (A CANCEL that matches an INVITE seldom reaches
// a handler: the INVITE's transaction answers it, unless a folded Via
// hid its branch from the read filter, invite_tx_gate.go.)
func goesFirst(m sip.RequestMethod) bool {
	return m == sip.INVITE || m == sip.ACK || m == sip.REFER
}
