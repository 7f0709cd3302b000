package sipcore

import (
	"hash/maphash"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// RFC 6026's Accepted state, kept by parkd instead of sipgo. After a 2xx
// to an INVITE, the server transaction only has to absorb retransmissions
// of that INVITE for 64*T1 (Timer L): parkd itself resends the 2xx until
// the ACK (Call.retransmitUntilAck, ack_wait.go), and the ACK to a 2xx never matches
// the transaction. sipgo keeps the whole transaction for it, with the
// INVITE and the 2xx parsed, both SDP bodies, its timers and channels,
// and cannot let go sooner: Terminate leaves Timer L's closure holding
// it. At 1,000 calls a second that was 64,000 live transactions and
// hundreds of MB the collector marked, and 32 s of INVITEs counted
// against sip.max_transactions (10,000 by default: about 300 INVITEs a
// second filled it). parkd sets Timer L to zero, so the transaction ends
// as its 2xx leaves, and remembers the INVITE by two hashes instead
// (answeredInvites): a copy is dropped, a CANCEL gets 200 as the
// transaction would have given it (RFC 3261 §9.2).

// answeredInvites are the INVITEs parkd answered 2xx in the last 64*T1:
// the hash of the top Via branch to the hash of the whole transaction's
// key (answeredKeys). Hashes keep an entry a few dozen bytes whatever
// the peer put in its headers, and the branch alone can be found in a
// datagram without parsing it, so the read filter drops copies before
// sipgo makes them a transaction (absorbCopy).
type answeredInvites = expiringSet[uint64, uint64]

// maxAnsweredInvites bounds answeredInvites: 4,000 answers a second for
// 64*T1, some 12 MB. Past it the oldest are forgotten early, and a copy
// of one of them would be served as a new call.
const maxAnsweredInvites = 1 << 17

// answeredKeys names the INVITE transaction req belongs to: the INVITE,
// its retransmissions, its CANCEL (RFC 3261 §9.2) and the ACK of its
// final error share Call-ID, From tag, CSeq number and top Via (§9.1,
// §17.2.3); full hashes them all. key is the hash of the branch alone
// when it is an RFC 3261 one (unique to the transaction, and found in a
// datagram without parsing it), else full. §17.2.3 and sipgo match by
// the branch and sent-by alone; the rest costs a compliant peer nothing
// and keeps another sender who learns or guesses a branch from
// cancelling a call that is not its own.
func answeredKeys(req *sip.Request) (key, full uint64) {
	var fromTag, branch, host string
	var port int
	if f := req.From(); f != nil {
		fromTag, _ = f.Params.Get("tag")
	}
	if v := req.Via(); v != nil {
		branch, _ = v.Params.Get("branch")
		host, port = v.Host, v.Port
		if port <= 0 {
			port = sip.DefaultPort(v.Transport) // one sent-by, written with or without it (as sipgo keys it)
		}
	}
	var seq uint32
	if c := req.CSeq(); c != nil {
		seq = c.SeqNo
	}
	var h maphash.Hash
	var num [20]byte // the numbers written without a string each
	h.SetSeed(rememberSeed)
	h.WriteString(callID(req))
	h.WriteByte(0)
	h.WriteString(fromTag)
	h.WriteByte(0)
	h.Write(strconv.AppendUint(num[:0], uint64(seq), 10))
	h.WriteByte(0)
	h.WriteString(branch)
	h.WriteByte(0)
	h.WriteString(host)
	h.WriteByte(0)
	h.Write(strconv.AppendInt(num[:0], int64(port), 10))
	full = h.Sum64()
	if !isRFC3261Branch(branch) {
		return full, full
	}
	return maphash.String(rememberSeed, branch), full
}

func isRFC3261Branch[T string | []byte](branch T) bool {
	const cookie = sip.RFC3261BranchMagicCookie
	return len(branch) > len(cookie) && string(branch[:len(cookie)]) == cookie
}

// noteAnswering remembers an INVITE before its 2xx is sent: once sent,
// its transaction (sipgo's, or parkd's own) may end at any moment, and a retransmission that
// finds neither would be served as a new call. forget undoes it when the
// 2xx could not be sent.
func (ep *Endpoint) noteAnswering(req *sip.Request, res *sip.Response) (forget func()) {
	if req.Method != sip.INVITE || res.StatusCode < 200 || res.StatusCode >= 300 {
		return nil
	}
	key, full := answeredKeys(req)
	ep.answered.add(key, full, time.Now())
	return func() { ep.answered.remove(key) }
}

// isAnswered reports whether req is a copy of an INVITE parkd answered
// 2xx, or a CANCEL of one.
func (ep *Endpoint) isAnswered(req *sip.Request) bool {
	key, full := answeredKeys(req)
	got, ok := ep.answered.get(key, time.Now())
	return ok && got == full
}

// absorbCopy is the UDP read filter's part, for an INVITE or CANCEL
// datagram: true when it copies or cancels an INVITE parkd answered 2xx.
// A copy is dropped before it starts a transaction (sipgo's, or parkd's
// own), since a CANCEL would find that transaction still proceeding and
// be answered 487; the CANCEL gets 200 here, statelessly (RFC 3261 §9.2:
// it changes nothing). Only a datagram whose branch was answered is
// parsed.
func (ep *Endpoint) absorbCopy(g *gated, method sip.RequestMethod) bool {
	branch := g.viaBranch()
	if !isRFC3261Branch(branch) {
		return false
	}
	if _, ok := ep.answered.get(maphash.Bytes(rememberSeed, branch), time.Now()); !ok {
		return false
	}
	req := g.request()
	if req == nil || req.Method != method || !ep.isAnswered(req) {
		return false
	}
	if method == sip.CANCEL {
		g.respond(req, 200, "OK")
	}
	return true
}

// absorbAnswered is the handler's part, for what the read filter did not
// see (TCP) or could not match: a copy of an answered INVITE ends its new
// transaction without a response, since the caller gets the 2xx parkd
// resends anyway.
func (ep *Endpoint) absorbAnswered(req *sip.Request, tx sip.ServerTransaction) bool {
	if !ep.isAnswered(req) {
		return false
	}
	tx.Terminate()
	return true
}

// cancelAnswered answers 200 to a CANCEL of an INVITE parkd already
// answered 2xx; the CANCEL changes nothing (RFC 3261 §9.2). Over UDP its
// transaction ends at once, as the read filter's answer keeps none: a
// copy of the CANCEL is answered anew.
func (ep *Endpoint) cancelAnswered(req *sip.Request, tx sip.ServerTransaction) bool {
	if !ep.isAnswered(req) {
		return false
	}
	ep.respond(tx, req, 200, "OK")
	if strings.EqualFold(req.Transport(), "udp") {
		tx.Terminate()
	}
	return true
}
