package sipcore

import "time"

// tcpDialogGrace is how long a TCP connection still counts as a dialog's
// after the dialog ended: parkd sends the dialog's last request (a BYE, a
// final NOTIFY) after taking it out of its registry, and that transaction
// is over within Timer F (32 s).
const tcpDialogGrace = 64 * time.Second

// tcpSources counts the dialogs that send over each TCP connection, by the
// connection's remote address: over TCP parkd sends in-dialog requests
// (BYE, re-INVITE, NOTIFY) on the connection the dialog came in on, so that
// connection must stay open however long the peer is silent. Its owner's
// lock guards it.
type tcpSources map[string]tcpUse

type tcpUse struct {
	dialogs int
	ended   time.Time // when the last dialog went, if none is left
}

func (t tcpSources) add(p *dialogPeer) {
	if p.transport != "tcp" || p.source == "" {
		return
	}
	u := t[p.source]
	u.dialogs++
	t[p.source] = u
}

func (t tcpSources) remove(p *dialogPeer) {
	if p.transport != "tcp" || p.source == "" {
		return
	}
	u, ok := t[p.source]
	if !ok {
		return
	}
	if u.dialogs--; u.dialogs > 0 {
		t[p.source] = u
		return
	}
	now := time.Now()
	t[p.source] = tcpUse{ended: now}
	t.sweep(now)
}

// sweep forgets a few connections whose grace has passed. Map iteration
// starts at a random entry, so every stale one goes in time while each
// call costs only a few steps.
func (t tcpSources) sweep(now time.Time) {
	seen := 0
	for src, u := range t {
		if u.dialogs == 0 && now.Sub(u.ended) > tcpDialogGrace {
			delete(t, src)
		}
		if seen++; seen == 4 {
			return
		}
	}
}

// uses reports whether a dialog sends over the connection from raddr, or
// did within tcpDialogGrace.
func (t tcpSources) uses(raddr string) bool {
	u, ok := t[raddr]
	switch {
	case !ok:
		return false
	case u.dialogs > 0 || time.Since(u.ended) <= tcpDialogGrace:
		return true
	}
	delete(t, raddr)
	return false
}

// usesTCP reports whether a call sends over the TCP connection from raddr.
func (r *dialogRegistry) usesTCP(raddr string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tcp.uses(raddr)
}

// usesTCP reports whether a subscription's NOTIFYs go out on the TCP
// connection from raddr.
func (r *subscriptionRegistry) usesTCP(raddr string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tcp.uses(raddr)
}

// tcpInUse reports whether a call or a subscription needs the TCP
// connection from raddr.
func (ep *Endpoint) tcpInUse(raddr string) bool {
	return ep.dialogs.usesTCP(raddr) || ep.subs.usesTCP(raddr)
}
