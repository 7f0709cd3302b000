package sipcore

// tcpSources counts the dialogs that send over each TCP connection, by the
// connection's remote address: over TCP parkd sends in-dialog requests
// (BYE, re-INVITE, NOTIFY) on the connection the dialog came in on, so that
// connection must stay open however long the peer is silent. Its owner's
// lock guards it.
type tcpSources map[string]int

func (t tcpSources) add(p *dialogPeer) {
	if p.transport == "tcp" && p.source != "" {
		t[p.source]++
	}
}

func (t tcpSources) remove(p *dialogPeer) {
	if p.transport != "tcp" || p.source == "" {
		return
	}
	if t[p.source]--; t[p.source] <= 0 {
		delete(t, p.source)
	}
}

// usesTCP reports whether a subscription's NOTIFYs go out on the TCP
// connection from raddr.
func (r *subscriptionRegistry) usesTCP(raddr string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tcp[raddr] > 0
}

// tcpInUse reports whether a call or a subscription needs the TCP
// connection from raddr.
func (ep *Endpoint) tcpInUse(raddr string) bool {
	return ep.dialogs.usesTCP(raddr) || ep.subs.usesTCP(raddr)
}
