// Package sipcore is parkd's SIP endpoint: listeners, call legs, dialogs and
// SDP. It reports calls up to a Handler and knows nothing of slots or lots.
package sipcore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/parkd/parkd/sipcore/media"
)

// Handler receives what the SIP side cannot decide alone.
type Handler interface {
	// HandleInvite is called for every new INVITE (outside a dialog) whose
	// SDP parkd can serve. It must finish with exactly one of inv.Answer,
	// inv.Reject or inv.Redirect before returning; sipcore rejects with 500
	// if it does not.
	HandleInvite(ctx context.Context, inv *Invite)
	// CallEnded is called once for every answered call, whatever ended it.
	CallEnded(call *Call, reason EndReason)
	// ResolveSubscription maps a new SUBSCRIBE's target to the resource
	// parkd publishes its state under (see Endpoint.Publish); false means
	// there is no such entity (404).
	ResolveSubscription(req *SubscribeRequest) (resource string, ok bool)
	// SubscriptionsChanged says the number of subscriptions to resource
	// changed; read it with Endpoint.Subscribers. It is called without
	// sipcore locks held, possibly from several goroutines at once.
	SubscriptionsChanged(resource string)
}

// ListenAddr is one SIP listener: network "udp" or "tcp", and host:port.
type ListenAddr struct {
	Network string
	Addr    string
}

func (l ListenAddr) String() string { return l.Network + "://" + l.Addr }

// Config is what the endpoint needs from parkd's configuration.
type Config struct {
	Listen    []ListenAddr
	Advertise string // host or IP for Contact and SDP; "" = the listener's own
	UserAgent string
	RTP       *media.Allocator
	Logger    *slog.Logger
	TCP       TCPLimits
	// DeferServing binds the listeners in NewEndpoint but answers nothing
	// until Serve: a daemon that still has music, signals and its API to
	// set up must not take a call it cannot yet hold or hang up cleanly.
	DeferServing bool
	// Settings are what a reload may change later (Reconfigure).
	Settings
}

// udpReadBuffer is asked of the kernel for each SIP UDP socket; Linux caps
// it at net.core.rmem_max.
const udpReadBuffer = 4 << 20

// Endpoint is parkd's SIP user agent: it answers calls and holds their dialogs.
type Endpoint struct {
	cfg     Config
	log     *slog.Logger
	handler Handler
	ua      *sipgo.UserAgent
	server  *sipgo.Server
	client  *sipgo.Client

	listeners []listener
	serving   sync.Once
	tcpGate   *tcpGate // admits and times out SIP TCP connections (sip.tcp)
	dialogs   dialogRegistry
	ended     endedDialogs    // dialogs a BYE over UDP ended, for its retransmissions (ended.go)
	answered  answeredInvites // INVITEs answered 2xx, for their retransmissions (accepted.go)
	inviteTxs inviteTxTable   // parkd's own INVITE transactions over UDP (invite_tx.go)
	// inviteChain is every INVITE's handler chain, as sipgo calls it
	// (routes.go) and as parkd's own transactions do.
	inviteChain func(*sip.Request, sip.ServerTransaction)
	subs        subscriptionRegistry
	notifier    notifier // UDP NOTIFY transactions, their timers and pacing
	draining    atomic.Bool
	wg          sync.WaitGroup

	// answerT1 and answerT2 pace the 200 resent until its ACK (RFC 3261
	// §13.3.1.4): sipgo's T1 and T2, in nanoseconds, unless a test
	// shortens them while the endpoint runs (so atomics).
	answerT1, answerT2 atomic.Int64

	stats      sipStats
	onCanceled sip.FnTxCancel // ep.stats.canceled, bound once: no allocation per INVITE

	quiet      *logLimiter        // lines about refused or unparseable traffic, per source
	recent     recentSources      // where the last packets came from, for sipgo's lines
	inProgress requestsInProgress // for merged requests (482)

	sent       sentInvites // recall INVITEs, to tell their late 200s from strays
	inflight   inflight    // every originated branch not yet finished, for Shutdown
	advertised advertiseCache
	current    atomic.Pointer[settings] // what a reload may change (settings.go)
	liveTx     atomic.Int64             // server transactions alive, for sip.max_transactions
	onTxEnd    sip.FnTxTerminate

	unconfirmed unconfirmedCalls // answered calls awaiting their ACK, per source
	ending      atomic.Int64     // calls hanging up whose end parkd has not yet been told

	pendingInvites atomic.Int64   // new INVITEs received and not yet answered (overload.go)
	arrivals       inviteArrivals // when each INVITE was read (invite_arrivals.go)
	handlers       handlerPool    // goroutines request handlers reuse (handler_pool.go)
	tryingDelay    atomic.Int64   // a test's DefaultTryingAfter (trying.go)
	stamped        []*stampedConn // the UDP listeners as sipgo reads them (udp_stamp.go)
}

type listener struct {
	network string
	addr    netip.AddrPort
	closer  interface{ Close() error }
}

// NewEndpoint binds every listener; a bind failure is returned at once.
func NewEndpoint(cfg Config, handler Handler) (*Endpoint, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "parkd"
	}
	if cfg.RTP == nil {
		return nil, errors.New("sipcore: no RTP allocator")
	}
	ep := &Endpoint{cfg: cfg, log: cfg.Logger, handler: handler}
	ep.onTxEnd = ep.txEnded
	ep.onCanceled = ep.stats.canceled
	ep.dialogs.init()
	ep.ended.init(maxRemembered)
	ep.answered.init(maxAnsweredInvites)
	ep.subs.init()
	ep.notifier.init(ep)
	ep.answerT1.Store(int64(sip.T1))
	ep.answerT2.Store(int64(sip.T2))
	ep.inProgress.init()
	ep.quiet = newLogLimiter(logEvery, logMaxSources)
	ep.cfg.Subscriptions.setDefaults()
	ep.Reconfigure(cfg.Settings)
	wireLog := slog.New(&sipgoLog{next: ep.log.Handler(), limit: ep.quiet, sources: &ep.recent, allowed: ep.allowedAddr})
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent(cfg.UserAgent),
		sipgo.WithUserAgentDNSResolver(refusingResolver()),
		sipgo.WithUserAgentTransactionLayerOptions(
			sip.WithTransactionLayerUnhandledResponseHandler(ep.unhandledResponse),
			sip.WithTransactionLayerLogger(wireLog),
		),
		sipgo.WithUserAgentTransportLayerOptions(
			sip.WithTransportLayerLogger(wireLog),
			sip.WithTransportLayerReadFilter(ep.readFilter),
		),
	)
	if err != nil {
		return nil, fmt.Errorf("sipcore: %w", err)
	}
	ep.ua = ua
	if ep.server, err = sipgo.NewServer(ua, sipgo.WithServerLogger(wireLog)); err != nil {
		return nil, fmt.Errorf("sipcore: %w", err)
	}
	if ep.client, err = sipgo.NewClient(ua, sipgo.WithClientLogger(wireLog)); err != nil {
		return nil, fmt.Errorf("sipcore: %w", err)
	}
	ep.handlers = newHandlerPool()
	ep.routes()
	if err := ep.listen(); err != nil {
		ep.closeListeners()
		ua.Close()
		return nil, err
	}
	return ep, nil
}

// listen binds every listener, and serves them unless the caller defers
// that to Serve.
func (ep *Endpoint) listen() error {
	for _, l := range ep.cfg.Listen {
		switch l.Network {
		case "udp":
			conn, err := net.ListenPacket("udp", l.Addr)
			if err != nil {
				return fmt.Errorf("sip listen %s: %w", l, err)
			}
			// Phones resubscribe all at once after a restart or a network
			// blip; a deep buffer rides out the burst instead of dropping it.
			if uc, ok := conn.(*net.UDPConn); ok {
				uc.SetReadBuffer(udpReadBuffer)
				// Stamped from the start: what waits for Serve counts.
				sc, err := newStampedConn(uc)
				if err != nil {
					conn.Close()
					return fmt.Errorf("sip listen %s: %w", l, err)
				}
				sc.answered = ep.notifyAnswer
				ep.stamped = append(ep.stamped, sc)
			}
			addr := conn.LocalAddr().(*net.UDPAddr).AddrPort()
			ep.listeners = append(ep.listeners, listener{"udp", addr, conn})
		case "tcp":
			ln, err := net.Listen("tcp", l.Addr)
			if err != nil {
				return fmt.Errorf("sip listen %s: %w", l, err)
			}
			if ep.tcpGate == nil {
				ep.tcpGate = newTCPGate(ep.cfg.TCP, ep.allowedAddr, ep.log, ep.tcpInUse)
			}
			addr := ln.Addr().(*net.TCPAddr).AddrPort()
			ep.listeners = append(ep.listeners, listener{"tcp", addr, newTCPListener(ln, ep.tcpGate)})
		default:
			return fmt.Errorf("sip listen %s: unsupported transport %q (use udp or tcp)", l, l.Network)
		}
	}
	if !ep.cfg.DeferServing {
		ep.Serve()
	}
	return nil
}

// Serve starts answering on every listener; later calls do nothing. All
// are bound before any serves, so the listener list is complete before
// the first request can read it. Requests that arrived in between wait in
// the sockets.
func (ep *Endpoint) Serve() {
	ep.serving.Do(ep.serveListeners)
}

func (ep *Endpoint) serveListeners() {
	for _, l := range ep.listeners {
		switch c := l.closer.(type) {
		case net.PacketConn:
			var conn net.PacketConn = c
			var stamped *stampedConn
			for _, sc := range ep.stamped {
				if sc.UDPConn == c {
					conn, stamped = sc, sc // sipgo reads with receive times (udp_stamp.go)
					sc.pool, sc.addr = ep.ua.TransportLayer().Pool("udp"), sc.LocalAddr().String()
				}
			}
			if stamped != nil {
				stamped.serveInline(func() {
					ep.serveStamped(stamped, true)
					ep.log.Debug("SIP read loop taken over: a new call's handler ran past its time on the loop", "listener", stamped.addr)
				})
				ep.serveStamped(stamped, false)
			} else {
				ep.serve(func() error { return ep.server.ServeUDP(conn) })
			}
			ep.waitServing("udp", c.LocalAddr().String())
		case net.Listener:
			ep.serve(func() error { return ep.server.ServeTCP(c) })
		}
	}
}

// serveStamped runs a read loop on a stamped listener, and the loops that
// replace it when it is restarted (udp_restart.go). A loop that takes
// over from one waiting in a handler (inline_invite.go) takes its place
// in ep.wg too (counted already), so that Shutdown waits for the loops
// reading, never for a handler.
func (ep *Endpoint) serveStamped(sc *stampedConn, counted bool) {
	if !counted {
		ep.wg.Add(1)
	}
	go func() {
		sc.loops.Add(1)
		defer sc.loops.Add(-1)
		for {
			ep.server.ServeUDP(sc) // it returns nil: how the loop ended is sc's to say
			again, retired := sc.loopEnded()
			if again {
				ep.log.Debug("SIP read loop restarted, to let go of the sources it remembered or after a takeover", "listener", sc.addr)
				continue
			}
			if !retired {
				ep.wg.Done()
			}
			return
		}
	}()
}

func (ep *Endpoint) serve(run func() error) {
	ep.wg.Add(1)
	go func() {
		defer ep.wg.Done()
		// A TCP listener returns only once closed (tcpListener retries
		// everything else); anything else stopping one is worth knowing.
		if err := run(); err != nil && !errors.Is(err, net.ErrClosed) {
			ep.log.Error("sip listener stopped", "error", err)
		}
	}()
}

// waitServing waits until sipgo has registered a UDP listener, so that our
// own requests (BYE) leave from it instead of a new socket.
func (ep *Endpoint) waitServing(network, addr string) {
	for i := 0; i < 1000; i++ {
		if c, _ := ep.ua.TransportLayer().GetConnection(network, addr); c != nil {
			return
		}
		time.Sleep(time.Millisecond)
	}
	ep.log.Warn("sip listener not registered after 1 s", "addr", addr)
}

// Addrs lists the bound listeners, with the real ports when :0 was asked.
func (ep *Endpoint) Addrs() []ListenAddr {
	out := make([]ListenAddr, 0, len(ep.listeners))
	for _, l := range ep.listeners {
		out = append(out, ListenAddr{l.network, l.addr.String()})
	}
	return out
}

func (ep *Endpoint) listenerFor(network string) (listener, bool) {
	network = strings.ToLower(network)
	for _, l := range ep.listeners {
		if l.network == network {
			return l, true
		}
	}
	return listener{}, false
}

// contactHost is the host parkd puts in Contact and SDP for a transport.
func (ep *Endpoint) contactHost(l listener) string {
	if ep.cfg.Advertise != "" {
		return ep.cfg.Advertise
	}
	return l.addr.Addr().Unmap().String()
}

// mediaAddress is the address announced in SDP c= lines.
func (ep *Endpoint) mediaAddress(local netip.Addr) netip.Addr {
	if a, ok := ep.advertised.addr(ep.cfg.Advertise, time.Now()); ok {
		return a
	}
	return local
}

func (ep *Endpoint) contact(network string) *sip.ContactHeader {
	l, ok := ep.listenerFor(network)
	if !ok {
		l = ep.listeners[0]
	}
	uri := sip.Uri{Scheme: "sip", User: "parkd", Host: ep.contactHost(l), Port: int(l.addr.Port())}
	if l.network == "tcp" {
		uri.UriParams = sip.HeaderParams{{K: "transport", V: "tcp"}}
	}
	return &sip.ContactHeader{Address: uri}
}

// Calls is the number of answered calls still up.
func (ep *Endpoint) Calls() int { return ep.dialogs.len() }

// Shutdown stops taking calls and subscriptions (new ones get 503) and
// originating them (Originate fails), CANCELs every originated INVITE still
// ringing, whoever asked for it, and hangs up every call with BYE, as well
// as any answer that crosses a CANCEL. Then it ends every subscription with
// a final NOTIFY, waits for the answers or ctx to end, and closes the
// listeners. Calls go first so that the final NOTIFYs carry the state after
// them (empty slots), not a parked call that is already gone.
func (ep *Endpoint) Shutdown(ctx context.Context) {
	ep.draining.Store(true)
	ep.cancelOriginated()
	// Both at once: a branch that never had a provisional response cannot
	// be canceled and may use up ctx, which must not cost the calls their BYE.
	branchesDone := make(chan bool, 1)
	go func() { branchesDone <- ep.inflight.wait(ctx) }()
	if !ep.hangupAll(ctx) {
		ep.log.Warn("shutdown: some BYEs were not answered in time", "calls", ep.dialogs.len())
	}
	if !<-branchesDone {
		ep.log.Warn("shutdown: some originated calls did not finish in time", "branches", ep.inflight.pending())
	}
	ep.awaitFanouts(ctx.Done())
	if err := ep.endSubscriptions(ctx.Done()); err != nil {
		ep.log.Warn("shutdown: "+err.Error(), "subscriptions", ep.Subscriptions())
	}
	ep.closeListeners()
	ep.notifier.abandon()
	ep.ua.Close() // ends sipgo's transactions
	ep.inviteTxs.terminateAll()
	ep.awaitEndings(endingsGrace)
	ep.awaitOriginated(endingsGrace)
	ep.handlers.Close()
	ep.wg.Wait()
}

func (ep *Endpoint) closeListeners() {
	for _, l := range ep.listeners {
		l.closer.Close()
	}
}

// allowed reports whether a request's source may use parkd (sip.allow).
func (ep *Endpoint) allowed(req *sip.Request) bool {
	ap, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return false
	}
	return ep.allowedAddr(ap.Addr())
}

func (ep *Endpoint) allowedAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range ep.live().Allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// readFilter sees every packet and stream chunk before sipgo parses it.

func callID(m sip.Message) string {
	if h := m.CallID(); h != nil {
		return h.Value()
	}
	return ""
}
