package sipcore

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// A UDP NOTIFY is written as bytes by parkd itself rather than built as a
// sipgo request and handed to a client transaction: per NOTIFY only the
// Via branch, the CSeq, the Subscription-State and the body change, so the
// rest is rendered once per subscription (notifyHead) and copied.

// notifyHead is the unchanging part of a subscription's UDP NOTIFYs.
type notifyHead struct {
	// requestLine is the request line and the start of the Via up to the
	// branch value; headers follows the Via and runs up to the CSeq.
	requestLine, headers string
	dest                 netip.AddrPort // where every NOTIFY goes
	addr                 *net.UDPAddr   // dest, as sendmmsg takes it
	// pace is dest's window in the pacer, once a NOTIFY took room in it;
	// the pacer reads and sets it, under its lock and the subscription's.
	pace *paceWindow
}

// branchPrefix starts every NOTIFY branch parkd writes; the 16 hex digits
// that follow are the transaction's key in the notifier.
const branchPrefix = "z9hG4bK.pn"

// notifyHeadLocked renders s's notifyHead, or returns the one it has;
// false when parkd has no UDP listener or nowhere it may send to. Callers
// hold s.mu.
func (s *Subscription) notifyHeadLocked() (*notifyHead, bool) {
	if s.head != nil {
		return s.head, true
	}
	l, ok := s.ep.listenerFor("udp")
	if !ok {
		return nil, false
	}
	dest, ok := s.dialogPeer.udpDestination()
	if !ok {
		return nil, false
	}
	sentBy := hostPort(s.ep.viaHost(l), l.addr.Port())
	var b strings.Builder
	b.WriteString("NOTIFY ")
	b.WriteString(s.remoteTarget.String())
	b.WriteString(" SIP/2.0\r\nVia: SIP/2.0/UDP ")
	b.WriteString(sentBy)
	b.WriteString(";rport;branch=")
	line := b.String()
	b.Reset()
	b.WriteString("\r\n")
	from, to := s.local, s.remote
	b.WriteString(from.String())
	b.WriteString("\r\n")
	b.WriteString(to.String())
	b.WriteString("\r\nCall-ID: ")
	b.WriteString(s.callID)
	b.WriteString("\r\n")
	for _, r := range s.routeSet {
		b.WriteString("Route: ")
		b.WriteString(r)
		b.WriteString("\r\n")
	}
	b.WriteString(s.ep.contact("udp").String())
	b.WriteString("\r\nEvent: ")
	b.WriteString(s.eventHdr)
	b.WriteString("\r\nMax-Forwards: 70\r\nContent-Type: ")
	b.WriteString(bodyType(s.Event))
	b.WriteString("\r\n")
	s.head = &notifyHead{requestLine: line, headers: b.String(), dest: dest, addr: net.UDPAddrFromAddrPort(dest)}
	return s.head, true
}

// viaHost is the host in the Via of a request parkd sends from l: its
// address, or the one it advertises when it listens on a wildcard.
func (ep *Endpoint) viaHost(l listener) string {
	if l.addr.Addr().IsUnspecified() {
		return ep.contactHost(l)
	}
	return l.addr.Addr().Unmap().String()
}

func hostPort(host string, port uint16) string {
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(int(port))
}

// appendNotifyLocked appends the next NOTIFY, under branch id, to dst: it
// takes the next CSeq and dialog-info version. Callers hold s.mu.
func (s *Subscription) appendNotifyLocked(dst []byte, h *notifyHead, id uint64) []byte {
	dst = append(dst, h.requestLine...)
	dst = appendBranch(dst, id)
	dst = append(dst, h.headers...)
	s.localCSeq++
	dst = append(dst, "CSeq: "...)
	dst = strconv.AppendUint(dst, uint64(s.localCSeq), 10)
	dst = append(dst, " NOTIFY\r\nSubscription-State: "...)
	if s.final != "" {
		dst = append(dst, s.final...)
	} else {
		left := max(int(time.Until(s.expiresAt).Round(time.Second)/time.Second), 1)
		dst = append(dst, "active;expires="...)
		dst = strconv.AppendInt(dst, int64(left), 10)
	}
	body, omitted := s.body.ForDatagram()
	if omitted > 0 && !s.warnedDatagram {
		s.warnedDatagram = true // once per subscription: the lot stays busy
		s.log.Warn("lot too busy for one UDP NOTIFY: the first calls are shown, the rest left out; subscribe over TCP to see every call",
			"left_out", omitted)
	}
	dst = append(dst, "\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(body.Len(s.version)), 10)
	dst = append(dst, "\r\n\r\n"...)
	dst = body.Append(dst, s.version)
	s.version++
	return dst
}

// appendBranch writes a branch parameter value for transaction id.
func appendBranch(dst []byte, id uint64) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, branchPrefix...)
	for shift := 60; shift >= 0; shift -= 4 {
		dst = append(dst, hex[(id>>uint(shift))&0xf])
	}
	return dst
}

// branchID reads back the id of a branch appendBranch wrote.
func branchID(branch string) (uint64, bool) {
	rest, ok := strings.CutPrefix(branch, branchPrefix)
	if !ok || len(rest) != 16 {
		return 0, false
	}
	id, err := strconv.ParseUint(rest, 16, 64)
	return id, err == nil
}

// udpDestination is where a UDP request in the dialog goes: the first
// route or the remote target when that is an IP address (port 5060 when
// it names none), else where the dialog came from, since parkd never
// resolves a name a message gave it. It is where sipgo sends the same
// request (dialogPeer.request).
func (p *dialogPeer) udpDestination() (netip.AddrPort, bool) {
	uri := p.remoteTarget
	if len(p.routeSet) > 0 {
		// Parsed into an empty URI: the parser leaves what the route does
		// not name (its port) as it found it, and the remote target's
		// port is not the proxy's.
		uri = sip.Uri{}
		var params sip.HeaderParams
		if _, err := sip.ParseAddressValue(p.routeSet[0], &uri, &params); err != nil {
			uri = sip.Uri{}
		}
	}
	if ip, err := netip.ParseAddr(strings.Trim(uri.Host, "[]")); err == nil {
		port := uri.Port
		if port <= 0 {
			port = 5060
		}
		return netip.AddrPortFrom(ip.Unmap(), uint16(port)), true
	}
	ap, err := netip.ParseAddrPort(p.source)
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}
