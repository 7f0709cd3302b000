package siptest_test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

const dialogInfo = `<?xml version="1.0"?><dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="sip:701@127.0.0.1"/>`

// notifier is just enough of an RFC 6665 notifier to drive a Subscription
// without parkd: it answers every SUBSCRIBE and follows each 2xx with a
// NOTIFY, and sends more NOTIFYs when a test asks.
type notifier struct {
	t         *testing.T
	transport string
	addr      string // host:port it listens on
	tag       string // its To tag in every subscription
	client    *sipgo.Client

	// status answers an initial SUBSCRIBE (default 200); notifyFirst sends
	// its NOTIFY before the 200 and waits for the phone's answer to it.
	status      int
	notifyFirst bool

	subscribes chan *sip.Request     // every SUBSCRIBE received
	notified   chan notifyResult     // the outcome of every automatic NOTIFY
	mu         sync.Mutex            //
	dialogs    map[string]*subDialog // by Call-ID
}

type subDialog struct {
	subscribe *sip.Request // the initial SUBSCRIBE
	cseq      uint32       // of the last NOTIFY sent
}

// notifyResult is how the phone answered a NOTIFY: a status, or the error
// of a transaction that got none.
type notifyResult struct {
	status int
	err    error
}

// newNotifier starts a notifier; edit changes it before it serves.
func newNotifier(t *testing.T, transport string, edit ...func(*notifier)) *notifier {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("notifier"))
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := sipgo.NewServer(ua)
	client, _ := sipgo.NewClient(ua)
	n := &notifier{
		t: t, transport: transport, tag: sip.GenerateTagN(10), client: client, status: 200,
		subscribes: make(chan *sip.Request, 32),
		notified:   make(chan notifyResult, 32),
		dialogs:    map[string]*subDialog{},
	}
	for _, e := range edit {
		e(n)
	}
	srv.OnSubscribe(n.onSubscribe)
	switch transport {
	case "tcp":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		n.addr = ln.Addr().String()
		go srv.ServeTCP(ln)
		t.Cleanup(func() { ln.Close() })
	default:
		conn, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		n.addr = conn.LocalAddr().String()
		go srv.ServeUDP(conn)
		t.Cleanup(func() { conn.Close() })
		// Wait for sipgo to know the socket, so NOTIFYs leave from it.
		for i := 0; i < 1000; i++ {
			if c, _ := ua.TransportLayer().GetConnection("udp", n.addr); c != nil {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	t.Cleanup(func() { ua.Close() })
	return n
}

// uri is the resource a phone subscribes to.
func (n *notifier) uri() string { return "sip:701@" + n.addr }

// contact is the notifier's Contact, deliberately unlike the Request-URI
// so that tests can tell a refresh went to it.
func (n *notifier) contact() *sip.ContactHeader {
	host, port, _ := sip.ParseAddr(n.addr)
	uri := sip.Uri{Scheme: "sip", User: "notifier", Host: host, Port: port}
	if n.transport == "tcp" {
		uri.UriParams = sip.HeaderParams{{K: "transport", V: "tcp"}}
	}
	return &sip.ContactHeader{Address: uri}
}

func (n *notifier) onSubscribe(req *sip.Request, tx sip.ServerTransaction) {
	n.subscribes <- req
	toTag, _ := req.To().Params.Get("tag")
	n.mu.Lock()
	d := n.dialogs[req.CallID().Value()]
	if d == nil && toTag == "" {
		d = &subDialog{subscribe: req}
		n.dialogs[req.CallID().Value()] = d
	}
	n.mu.Unlock()
	if d == nil || (toTag != "" && toTag != n.tag) {
		tx.Respond(sip.NewResponseFromRequest(req, 481, "Subscription Does Not Exist", nil))
		return
	}
	if toTag == "" && n.status/100 != 2 {
		tx.Respond(sip.NewResponseFromRequest(req, n.status, "Rejected", nil))
		return
	}
	expires := 3600
	if h := req.GetHeader("Expires"); h != nil {
		expires, _ = strconv.Atoi(h.Value())
	}
	state := fmt.Sprintf("active;expires=%d", expires)
	if expires == 0 {
		state = "terminated;reason=timeout"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if toTag == "" && n.notifyFirst {
		n.notified <- n.send(ctx, req.CallID().Value(), state, dialogInfo)
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.To().Params.Add("tag", n.tag)
	res.AppendHeader(n.contact())
	res.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	// Two Record-Routes to this notifier itself, so that the phone's route
	// set shows its order.
	res.AppendHeader(sip.NewHeader("Record-Route", fmt.Sprintf("<sip:%s;lr;hop=1>", n.addr)))
	res.AppendHeader(sip.NewHeader("Record-Route", fmt.Sprintf("<sip:%s;lr;hop=2>", n.addr)))
	if err := tx.Respond(res); err != nil {
		n.t.Errorf("notifier: respond: %v", err)
		return
	}
	if toTag != "" || !n.notifyFirst {
		n.notified <- n.send(ctx, req.CallID().Value(), state, dialogInfo)
	}
}

// send sends a NOTIFY in the subscription with this Call-ID and waits for
// the phone's final answer or ctx.
func (n *notifier) send(ctx context.Context, callID, state, body string) notifyResult {
	n.mu.Lock()
	d := n.dialogs[callID]
	if d == nil {
		n.mu.Unlock()
		return notifyResult{err: fmt.Errorf("notifier: no subscription %s", callID)}
	}
	d.cseq++
	cseq, sub := d.cseq, d.subscribe
	n.mu.Unlock()
	return n.sendFor(ctx, sub, cseq, state, body)
}

// sendFor sends a NOTIFY answering the SUBSCRIBE sub, which may be made up.
func (n *notifier) sendFor(ctx context.Context, sub *sip.Request, cseq uint32, state, body string) notifyResult {
	target := sub.Contact().Address
	req := sip.NewRequest(sip.NOTIFY, target)
	from := &sip.FromHeader{Address: sub.To().Address}
	from.Params.Add("tag", n.tag)
	req.AppendHeader(from)
	subFrom := sub.From()
	req.AppendHeader(&sip.ToHeader{DisplayName: subFrom.DisplayName, Address: subFrom.Address, Params: subFrom.Params.Clone()})
	req.AppendHeader(sip.HeaderClone(sub.CallID()))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: sip.NOTIFY})
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	req.AppendHeader(n.contact())
	req.AppendHeader(sip.NewHeader("Event", sub.GetHeader("Event").Value()))
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	if body != "" {
		req.AppendHeader(sip.NewHeader("Content-Type", "application/dialog-info+xml"))
		req.SetBody([]byte(body))
	} else {
		req.SetBody(nil)
	}
	req.SetTransport(strings.ToUpper(n.transport))
	req.SetDestination(fmt.Sprintf("%s:%d", target.Host, target.Port))
	if n.transport == "udp" {
		host, port, _ := sip.ParseAddr(n.addr)
		req.Laddr = sip.Addr{IP: net.ParseIP(host), Port: port}
	}
	res, err := n.client.Do(ctx, req, sipgo.ClientRequestBuild)
	if err != nil {
		return notifyResult{err: err}
	}
	return notifyResult{status: res.StatusCode}
}

// notify sends a NOTIFY with a 5 s limit and returns the phone's answer.
func (n *notifier) notify(t *testing.T, callID, state string) notifyResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	return n.send(ctx, callID, state, dialogInfo)
}

func (n *notifier) nextSubscribe(t *testing.T) *sip.Request {
	t.Helper()
	select {
	case req := <-n.subscribes:
		return req
	case <-time.After(5 * time.Second):
		t.Fatal("notifier got no SUBSCRIBE")
		return nil
	}
}

// nextNotified is the phone's answer to the next automatic NOTIFY.
func (n *notifier) nextNotified(t *testing.T) notifyResult {
	t.Helper()
	select {
	case r := <-n.notified:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("notifier sent no NOTIFY")
		return notifyResult{}
	}
}
