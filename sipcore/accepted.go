package sipcore

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// RFC 6026's Accepted state, kept by parkd instead of sipgo. After a 2xx
// to an INVITE, the server transaction only has to absorb retransmissions
// of that INVITE for 64*T1 (Timer L): parkd itself resends the 2xx until
// the ACK (Call.retransmitUntilAck), and the ACK to a 2xx never matches
// the transaction. sipgo keeps the whole transaction for it, with the
// INVITE and the 2xx parsed, both SDP bodies, its timers and channels,
// and cannot let go sooner: Terminate leaves Timer L's closure holding
// it. At 1,000 calls a second that was 64,000 live transactions and
// hundreds of MB the collector marked, and 32 s of INVITEs counted
// against sip.max_transactions (10,000 by default: about 300 INVITEs a
// second filled it). parkd sets Timer L to zero, so the transaction ends
// as its 2xx leaves, and remembers the INVITE by a key of a hundred bytes
// instead (answeredInvites): a retransmission is absorbed, a CANCEL gets
// 200 as the transaction would have given it (RFC 3261 §9.2).

// answeredInvites are the INVITEs parkd answered 2xx in the last 64*T1,
// by inviteTxKey.
type answeredInvites = expiringSet[string]

// sipgoAcceptedOff sets sipgo's Timer L to zero, once: it is a package
// variable of sipgo, read when an INVITE transaction sends its 2xx.
var sipgoAcceptedOff sync.Once

func turnOffSipgoAccepted() {
	sipgoAcceptedOff.Do(func() { sip.Timer_L = 0 })
}

// inviteTxKey names the INVITE transaction req belongs to: an INVITE, its
// retransmissions, and a CANCEL of it share Call-ID, From tag, CSeq number
// and top Via (RFC 3261 §9.1, §17.2.3). One string, copied out of the
// request so that it holds none of it.
func inviteTxKey(req *sip.Request) string {
	var fromTag, branch, host string
	var port int
	if f := req.From(); f != nil {
		fromTag, _ = f.Params.Get("tag")
	}
	if v := req.Via(); v != nil {
		branch, _ = v.Params.Get("branch")
		host, port = v.Host, v.Port
	}
	var seq uint32
	if c := req.CSeq(); c != nil {
		seq = c.SeqNo
	}
	cid := callID(req)
	var b strings.Builder
	b.Grow(len(cid) + len(fromTag) + len(branch) + len(host) + 24)
	b.WriteString(cid)
	b.WriteByte(0)
	b.WriteString(fromTag)
	b.WriteByte(0)
	b.WriteString(strconv.FormatUint(uint64(seq), 10))
	b.WriteByte(0)
	b.WriteString(branch)
	b.WriteByte(0)
	b.WriteString(host)
	b.WriteByte(':')
	b.WriteString(strconv.Itoa(port))
	return b.String()
}

// noteAnswering remembers an INVITE before its 2xx is sent: once sent,
// sipgo's transaction may end at any moment, and a retransmission that
// finds neither would be served as a new call. forget undoes it when the
// 2xx could not be sent.
func (ep *Endpoint) noteAnswering(req *sip.Request, res *sip.Response) (forget func()) {
	if req.Method != sip.INVITE || res.StatusCode < 200 || res.StatusCode >= 300 {
		return nil
	}
	key := inviteTxKey(req)
	ep.answered.add(key, time.Now())
	return func() { ep.answered.remove(key) }
}

// absorbAnswered reports whether req retransmits an INVITE parkd already
// answered 2xx, and if so ends its new transaction without a response:
// the caller gets the 2xx parkd is resending anyway.
func (ep *Endpoint) absorbAnswered(req *sip.Request, tx sip.ServerTransaction) bool {
	if !ep.answered.has(inviteTxKey(req), time.Now()) {
		return false
	}
	tx.Terminate()
	return true
}

// cancelAnswered answers 200 to a CANCEL of an INVITE parkd already
// answered 2xx; the CANCEL changes nothing (RFC 3261 §9.2).
func (ep *Endpoint) cancelAnswered(req *sip.Request, tx sip.ServerTransaction) bool {
	if !ep.answered.has(inviteTxKey(req), time.Now()) {
		return false
	}
	ep.respond(tx, req, 200, "OK")
	return true
}
