package sipcore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Message is a page-mode instant message (RFC 3428) parkd sends, such as
// telling a parker where its call went.
type Message struct {
	Target string // SIP URI
	From   Party  // who the recipient's phone shows as the sender
	Body   string // text/plain; UTF-8
	Proxy  string // outbound proxy URI; "" sends to the target directly
}

// SendMessage sends m and returns the final status, or an error when none
// came before ctx ended. Like Originate it resolves only the target or the
// proxy, which come from the configuration, the API or a trusted source.
func (ep *Endpoint) SendMessage(ctx context.Context, m Message) (int, error) {
	if ep.draining.Load() {
		return 0, errDraining
	}
	var uri sip.Uri
	if err := sip.ParseUri(m.Target, &uri); err != nil {
		return 0, fmt.Errorf("bad SIP URI %q: %w", m.Target, err)
	}
	var from sip.Uri
	if err := sip.ParseUri(m.From.URI, &from); err != nil {
		return 0, fmt.Errorf("bad sender URI %q: %w", m.From.URI, err)
	}
	hopURI, transport := uri, uriTransport(uri)
	var route *sip.Uri
	if m.Proxy != "" {
		route = &sip.Uri{}
		if err := sip.ParseUri(m.Proxy, route); err != nil {
			return 0, fmt.Errorf("bad outbound proxy %q: %w", m.Proxy, err)
		}
		hopURI, transport = *route, uriTransport(*route)
	}
	l, ok := ep.listenerFor(transport)
	if !ok {
		return 0, fmt.Errorf("no %s listener to reach %s", transport, m.Target)
	}
	hop, err := resolveHop(ctx, hopURI, transport)
	if err != nil {
		return 0, err
	}

	req := sip.NewRequest(sip.MESSAGE, uri)
	fromHdr := &sip.FromHeader{DisplayName: m.From.Display, Address: sip.Uri{Scheme: "sip", User: from.User, Host: from.Host, Port: from.Port}}
	fromHdr.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(fromHdr)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: uri.Scheme, User: uri.User, Host: uri.Host, Port: uri.Port}})
	cid := sip.CallIDHeader(sip.GenerateTagN(24) + "@parkd")
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.MESSAGE})
	if route != nil {
		r := sip.Uri{Scheme: route.Scheme, Host: route.Host, Port: route.Port, UriParams: sip.HeaderParams{{K: "lr", V: ""}}}
		if transport == "tcp" {
			r.UriParams.Add("transport", "tcp")
		}
		req.AppendHeader(sip.NewHeader("Route", "<"+r.String()+">"))
	}
	req.AppendHeader(sip.NewHeader("Content-Type", "text/plain;charset=UTF-8"))
	req.SetBody([]byte(m.Body))
	req.SetTransport(strings.ToUpper(transport))
	req.SetDestination(hop.String())
	if transport == "udp" {
		req.Laddr = sip.Addr{IP: l.addr.Addr().AsSlice(), Port: int(l.addr.Port())}
	}
	res, err := ep.client.Do(ctx, req)
	switch {
	case err != nil:
		return 0, err
	case res == nil: // sipgo ends the transaction without an error when parkd shuts down
		return 0, errors.New("MESSAGE not answered: its transaction ended")
	}
	return res.StatusCode, nil
}
