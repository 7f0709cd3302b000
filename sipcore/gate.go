package sipcore

import (
	"bytes"
	"hash/fnv"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
)

// The gate is where a request from the network first costs parkd anything.
// Over UDP it runs in sipgo's read loop (a read filter), on the raw
// datagram, before sipgo parses it or keeps a transaction for it: there a
// source outside sip.allow is answered 403 without a transaction (and its
// CANCEL never reaches sipgo's transaction matching), a source past its
// rate gets a stateless 503 or nothing, and an OPTIONS ping is answered
// statelessly, since sipgo would otherwise keep each one alive for Timer J
// (32 s), which is where a flood's memory went. Over TCP a read is not a
// message, so the filter only drops what comes from outside sip.allow and
// the limits apply at the handler (gatedHandler), where a transaction
// costs little: over TCP it ends with its response.

// txCapRetryAfter is the Retry-After of a 503 for too many transactions:
// about when Timer J lets the oldest of them go.
const txCapRetryAfter = "5"

// readFilter is sipgo's transport read filter. An error stops sipgo
// reading the socket on this loop: it returns one only when another loop
// reads it instead (inline_invite.go).
func (ep *Endpoint) readFilter(info sip.TransportReadProps, data []byte) ([]byte, error) {
	// sipgo's parse-failure lines do not name the source: remember it.
	ep.recent.note(info.RemoteAddr, data)
	src := addrIP(info.RemoteAddr)
	if !strings.EqualFold(info.Transport, "udp") {
		if !ep.allowedIP(src) {
			return nil, nil
		}
		return data, nil
	}
	if bytes.HasPrefix(data, []byte("SIP/2.0 ")) {
		// Answers to parkd's own NOTIFYs and BYEs never get here: the
		// socket's reader took them (stampedConn.ReadFrom). For the rest,
		// transactions match them, and unhandledResponse drops strays.
		return data, nil
	}
	method := startMethod(data)
	allowed := ep.allowedIP(src)
	g := gated{ep: ep, info: info, data: data, src: src}
	if method == sip.ACK {
		// ACKs belong to transactions and calls; they are never limited.
		if !allowed || ep.takeAck(data) || ep.matchInviteTx(&g, method) {
			return nil, nil // refused, or it acknowledged a 2xx (ack_raw.go) or an error (invite_tx.go)
		}
		return data, nil
	}
	now := time.Now()
	v := ep.live().limiter.take(src, now)
	if !allowed {
		if v == admit {
			if req := g.request(); req != nil {
				ep.logRefused(req, "request from a source outside sip.allow")
				g.respond(req, 403, "Forbidden", sip.NewHeader("Warning", `399 parkd "source not in sip.allow"`))
			}
		}
		return nil, nil
	}
	ok, rewrote := sip20(data)
	// A call that is up can always hang up, and one that rings be given
	// up; not with a request refused below anyway (505), which would
	// turn a silenced source's flood into as many answers.
	if v != admit && ok && (method == sip.BYE && ep.hangsUp(g.request()) || method == sip.CANCEL && ep.cancelsRinging(&g)) {
		v = admit
	}
	switch v {
	case drop:
		ep.stats.rateDropped.Add(1)
		return nil, nil
	case shed:
		ep.stats.rateLimited.Add(1)
		if req := g.request(); req != nil {
			ep.logShed(src, "rate limit")
			g.respond(req, 503, "Service Unavailable", sip.NewHeader("Retry-After", strconv.Itoa(ep.live().limiter.retryAfter())),
				sip.NewHeader("Warning", `399 parkd "too many requests from this source"`))
		}
		return nil, nil
	}
	if rewrote {
		ep.recent.note(info.RemoteAddr, data) // the bytes sipgo will quote if it cannot parse them
	}
	if method != "" && !ok {
		// Refused here, before sipgo: its own answers (a 400 for a bad
		// Via, say) would echo whatever version the peer spelled.
		if req := g.request(); req != nil && method != sip.ACK {
			ep.logRefused(req, "request refused: SIP version not supported")
			g.respond(req, 505, "Version Not Supported", sip.NewHeader("Warning", `399 parkd "only SIP/2.0 is supported"`))
		}
		return nil, nil
	}
	if (method == sip.INVITE || method == sip.CANCEL) && (ep.absorbCopy(&g, method) || ep.matchInviteTx(&g, method)) {
		return nil, nil // parkd answered that INVITE 2xx (accepted.go), or its transaction is parkd's (invite_tx.go)
	}
	if ep.overTxCap() && method != "" && !(method == sip.BYE && ep.hangsUp(g.request())) {
		ep.stats.txCapRefused.Add(1)
		if req := g.request(); req != nil {
			ep.logShed(src, "transaction cap")
			g.respond(req, 503, "Service Unavailable", sip.NewHeader("Retry-After", txCapRetryAfter),
				sip.NewHeader("Warning", `399 parkd "too many transactions"`))
		}
		return nil, nil
	}
	if method == sip.BYE && ep.takeBye(&g) {
		return nil, nil // it ended one of parkd's calls (bye_raw.go)
	}
	if method == sip.OPTIONS {
		// Only a well-formed ping is answered here; anything admit would
		// refuse (505, 400) goes on to it.
		if req := g.request(); req != nil && !hasToTag(req) && conforms(req) {
			g.reply(req, optionsResponse(req, g.ep.allowHeader()))
			return nil, nil
		}
	}
	if method == sip.INVITE {
		ep.noteInvite(&g, ep.arrival(info.LocalAddr, now))
		if started, endLoop := ep.startInviteTx(&g); started {
			// a new call, in parkd's own transaction (invite_tx.go); a
			// loop taken over while it ran the handler ends (the one
			// error this filter returns, inline_invite.go)
			return nil, endLoop
		}
	}
	return data, nil
}

// hangsUp reports whether req is a BYE that ends one of parkd's calls:
// its dialog is up and its CSeq is new. A copy, or a BYE out of CSeq
// order (answered 500, and the call stays up), is not: a silenced
// source could have each of a flood of them answered. A call whose lock
// is held is given the benefit of the doubt: the read loop must not wait
// for it (over TCP it is held across a write, for up to
// sip.tcp.message_timeout).
func (ep *Endpoint) hangsUp(req *sip.Request) bool {
	if req == nil || req.Method != sip.BYE {
		return false
	}
	c := ep.dialogs.byRequest(req)
	if c == nil {
		return false
	}
	if !c.mu.TryLock() {
		return true
	}
	defer c.mu.Unlock()
	return !c.ended && req.CSeq().SeqNo > c.remoteCSeq
}

// gatedHandler wraps every request handler: it counts the server
// transaction as live until it ends (for sip.max_transactions) and, over
// TCP, applies the rate limit and the transaction cap the read filter
// applies to UDP datagrams.
func (ep *Endpoint) gatedHandler(h func(*sip.Request, sip.ServerTransaction)) func(*sip.Request, sip.ServerTransaction) {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		if tx != nil && tx.OnTerminate(ep.onTxEnd) {
			ep.liveTx.Add(1)
		}
		if strings.EqualFold(req.Transport(), "udp") || req.Method == sip.ACK {
			if tx == nil || req.Method == sip.INVITE || req.Method == sip.ACK {
				h(req, tx)
				return
			}
			// A refusal keeps nothing: sipgo would hold the transaction
			// for Timer J (32 s) to answer retransmissions, which get the
			// same refusal anew instead (RFC 3261 §8.2.7, as a stateless UAS).
			rt := &refusalTx{ServerTransaction: tx}
			h(req, rt)
			if rt.refused.Load() {
				tx.Terminate()
			}
			return
		}
		v := ep.live().limiter.take(sourceAddr(req.Source()), time.Now())
		switch {
		case ep.hangsUp(req):
		case v == drop:
			ep.stats.rateDropped.Add(1)
			return
		case v == shed:
			ep.stats.rateLimited.Add(1)
			ep.logShed(sourceAddr(req.Source()), "rate limit")
			ep.respond(tx, req, 503, "Service Unavailable", sip.NewHeader("Retry-After", strconv.Itoa(ep.live().limiter.retryAfter())),
				sip.NewHeader("Warning", `399 parkd "too many requests from this source"`))
			return
		case ep.overTxCap():
			ep.stats.txCapRefused.Add(1)
			ep.logShed(sourceAddr(req.Source()), "transaction cap")
			ep.respond(tx, req, 503, "Service Unavailable", sip.NewHeader("Retry-After", txCapRetryAfter),
				sip.NewHeader("Warning", `399 parkd "too many transactions"`))
			return
		}
		h(req, tx)
	}
}

func (ep *Endpoint) txEnded(string, error) { ep.liveTx.Add(-1) }

// refusalTx is a non-INVITE transaction over UDP; reply notes when it was
// answered with a final error.
type refusalTx struct {
	sip.ServerTransaction
	refused atomic.Bool
}

// noteResponse is called by reply for every response sent.
func noteResponse(tx sip.ServerTransaction, res *sip.Response) {
	if rt, ok := tx.(*refusalTx); ok && res.StatusCode >= 300 {
		rt.refused.Store(true)
	}
}

// overTxCap reports whether sip.max_transactions server transactions are
// alive; the one a request would open is then refused.
func (ep *Endpoint) overTxCap() bool {
	max := ep.live().MaxTransactions
	return max > 0 && ep.liveTx.Load() >= int64(max)
}

// gated is one datagram the read filter answers itself; the request is
// parsed at most once, and only when an answer needs it.
type gated struct {
	ep     *Endpoint
	info   sip.TransportReadProps
	data   []byte
	src    netip.Addr
	parsed bool
	req    *sip.Request
	// branch is the top Via branch, once branchRead.
	branchRead bool
	branch     []byte
}

// request parses the datagram; nil when it is no request sipgo could
// answer either (sipgo would drop it with a 400 or nothing).
func (g *gated) request() *sip.Request {
	if g.parsed {
		return g.req
	}
	g.parsed = true
	msg, err := sip.ParseMessage(g.data)
	if err != nil {
		return nil
	}
	req, ok := msg.(*sip.Request)
	if !ok || req.Via() == nil || req.From() == nil || req.To() == nil || req.CallID() == nil || req.CSeq() == nil {
		return nil
	}
	req.SetTransport("UDP")
	req.SetSource(g.info.RemoteAddr.String())
	g.req = req
	return req
}

func (g *gated) respond(req *sip.Request, code int, reason string, headers ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range headers {
		res.AppendHeader(h)
	}
	g.reply(req, res)
}

// reply sends a response without a transaction (RFC 3261 §8.2.7), where
// destination says.
func (g *gated) reply(req *sip.Request, res *sip.Response) {
	if to := res.To(); to != nil {
		// Stateless, the tag must be the same for a retransmission.
		to.Params.Remove("tag")
		to.Params.Add("tag", statelessTag(req))
	}
	g.send(req, res)
}

// send is reply for a response whose To tag is already right: the
// dialog's, in a request that names it.
func (g *gated) send(req *sip.Request, res *sip.Response) {
	g.ep.stats.request(req.Method)
	if g.write(req, res) {
		g.ep.stats.response(req.Method, res.StatusCode)
	}
}

// write sends res to req's sender, uncounted; false when it could not.
func (g *gated) write(req *sip.Request, res *sip.Response) bool {
	res.SipVersion = "SIP/2.0" // sipgo copies the request's, which may be "sip/2.0"
	conn, dst, ok := g.destination(req)
	if !ok {
		return false
	}
	wire := wireOf(res)
	defer putWire(wire)
	_, err := conn.WriteTo(wire.Bytes(), net.UDPAddrFromAddrPort(dst))
	return err == nil
}

// destination is where a response to req goes, and the socket it leaves
// from: the one it came in on, to its source IP and the Via port, or the
// source port when it asked for rport (RFC 3581), as sipgo sends them.
// Never the Via host: that would be an address the packet chose.
func (g *gated) destination(req *sip.Request) (net.PacketConn, netip.AddrPort, bool) {
	conn := g.ep.udpConn(g.info.LocalAddr)
	if conn == nil || !g.src.IsValid() {
		return nil, netip.AddrPort{}, false
	}
	port := int(addrPort(g.info.RemoteAddr).Port())
	if via := req.Via(); via != nil {
		if _, rport := via.Params.Get("rport"); !rport {
			port = via.Port
			if port <= 0 {
				port = sip.DefaultUdpPort
			}
		}
	}
	return conn, netip.AddrPortFrom(g.src, uint16(port)), true
}

// viaBranch is the datagram's top Via branch, read from its bytes once.
func (g *gated) viaBranch() []byte {
	if !g.branchRead {
		g.branchRead, g.branch = true, topViaBranch(g.data)
	}
	return g.branch
}

// statelessTag is a To tag that is the same for every copy of a request.
func statelessTag(req *sip.Request) string {
	h := fnv.New64a()
	h.Write([]byte(callID(req)))
	if tag, ok := req.From().Params.Get("tag"); ok {
		h.Write([]byte(tag))
	}
	if branch, ok := req.Via().Params.Get("branch"); ok {
		h.Write([]byte(branch))
	}
	return strconv.FormatUint(h.Sum64(), 36)
}

// optionsResponse is parkd's answer to an OPTIONS outside a dialog.
func optionsResponse(req *sip.Request, allow string) *sip.Response {
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(sip.NewHeader("Allow", allow))
	res.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	res.AppendHeader(sip.NewHeader("Allow-Events", allowEvents))
	return res
}

// udpConn is the UDP listener bound to addr.
func (ep *Endpoint) udpConn(addr net.Addr) net.PacketConn {
	want := addrPort(addr)
	for _, l := range ep.listeners {
		if c, ok := l.closer.(net.PacketConn); ok && l.addr == want {
			return c
		}
	}
	return nil
}

// startMethod is the method of a request's start line, "" when the data
// does not start like a request.
func startMethod(data []byte) sip.RequestMethod {
	i := bytes.IndexByte(data[:min(len(data), 20)], ' ')
	if i <= 0 {
		return ""
	}
	switch m := string(data[:i]); m { // no allocation: the conversion is only compared
	case "INVITE":
		return sip.INVITE
	case "ACK":
		return sip.ACK
	case "BYE":
		return sip.BYE
	case "CANCEL":
		return sip.CANCEL
	case "OPTIONS":
		return sip.OPTIONS
	case "SUBSCRIBE":
		return sip.SUBSCRIBE
	}
	return sip.RequestMethod("other")
}

func addrPort(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *udpSource:
		return a.AddrPort()
	case *net.UDPAddr:
		return a.AddrPort()
	case *net.TCPAddr:
		return a.AddrPort()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}

func addrIP(a net.Addr) netip.Addr {
	if a == nil {
		return netip.Addr{}
	}
	return addrPort(a).Addr().Unmap()
}

// allowedIP reports whether a source may use parkd (sip.allow).
func (ep *Endpoint) allowedIP(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	for _, p := range ep.live().Allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// logShed says that parkd is shedding load, once a minute at most.
// One key for every source: shedding is a state of the whole server, and a
// flood from many addresses must still cost one line a minute.
func (ep *Endpoint) logShed(src netip.Addr, why string) {
	if ok, held := ep.quiet.allow("shedding"); ok {
		ep.log.Warn("shedding SIP load: 503 or silence", "why", why, "source", src,
			"suppressed", held, "rate_limit_per_source", ep.live().RateLimit.PerSecond,
			"max_transactions", ep.live().MaxTransactions)
	}
}

// sip20 reports whether a request's start line ends in SIP/2.0 (in any
// case, RFC 3261 §7.1), without parsing the message, and spells it in
// upper case in place (spellVersion); rewrote says it had to.
func sip20(data []byte) (ok, rewrote bool) {
	end := bytes.IndexByte(data[:min(len(data), 8192)], '\n')
	if end < 0 {
		return false, false
	}
	return spellVersion(bytes.TrimRight(data[:end], "\r"))
}

// spellVersion reports whether a request line ends in SIP/2.0 in any case,
// and writes it in upper case where it does not: sipgo copies a request's
// version into the responses it builds itself (a 487 for a CANCEL), and
// parkd must not write to a parsed request that sipgo's goroutines read
// too. It runs on datagrams before sipgo parses them (sip20) and on the
// start lines the TCP framer sees.
func spellVersion(line []byte) (ok, rewrote bool) {
	sp := bytes.LastIndexByte(line, ' ')
	if sp < 0 || !bytes.EqualFold(line[sp+1:], []byte("SIP/2.0")) {
		return false, false
	}
	if string(line[sp+1:]) == "SIP/2.0" {
		return true, false
	}
	copy(line[sp+1:], "SIP/2.0")
	return true, true
}
