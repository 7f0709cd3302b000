package sipcore

import (
	"errors"
	"net"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parkd/parkd/sipcore/presence"
)

// Event packages parkd notifies: RFC 4235 dialog state for BLF keys and
// RFC 3856 presence for phones that light keys from PIDF instead.
const (
	EventDialog   = "dialog"
	EventPresence = "presence"
)

// allowEvents is sent with 489 so a phone learns what it may subscribe to.
const allowEvents = EventDialog + ", " + EventPresence

func bodyType(event string) string {
	if event == EventPresence {
		return presence.PIDFType
	}
	return presence.DialogInfoType
}

// SubscriptionConfig bounds what subscribers can cost parkd.
type SubscriptionConfig struct {
	MinExpires     time.Duration // shorter requests get 423 Interval Too Brief
	MaxExpires     time.Duration // longer requests are granted this
	DefaultExpires time.Duration // granted when a SUBSCRIBE has no Expires
	MaxPerSource   int           // subscriptions from one source IP; past it 503
	MaxTotal       int           // subscriptions in all; past it 503
	NotifyTimeout  time.Duration // a NOTIFY unanswered this long ends its subscription
	// OnFanout, when set, is told how long one publication took to reach
	// the socket for every subscriber of a resource (metrics, benchmarks).
	OnFanout func(resource string, notified int, took time.Duration)
}

func (c *SubscriptionConfig) setDefaults() {
	if c.MinExpires <= 0 {
		c.MinExpires = 60 * time.Second
	}
	if c.MaxExpires < c.MinExpires {
		c.MaxExpires = max(time.Hour, c.MinExpires)
	}
	if c.DefaultExpires <= 0 {
		c.DefaultExpires = time.Hour // RFC 4235 §3.2 and RFC 3856 §6.4
	}
	c.DefaultExpires = min(max(c.DefaultExpires, c.MinExpires), c.MaxExpires)
	if c.MaxPerSource <= 0 {
		c.MaxPerSource = 500
	}
	if c.MaxTotal <= 0 {
		c.MaxTotal = 50000
	}
	if c.NotifyTimeout <= 0 {
		c.NotifyTimeout = 32 * time.Second // Timer F
	}
}

var (
	errTooManyFromSource = errors.New("too many subscriptions from this address")
	errTooMany           = errors.New("too many subscriptions")
	errNotPublished      = errors.New("resource not published yet")
)

type resourceKey struct{ resource, event string }

// resourceState is the current body of one resource in one event package
// and who watches it. seq counts publications so a subscriber never goes
// back to an older body.
type resourceState struct {
	key         resourceKey
	body        presence.Body
	seq         uint64
	publishedAt time.Time
	sentSeq     uint64 // the publication the fan-out last delivered
	fanning     bool   // a fan-out goroutine is running for this resource
	subs        map[*Subscription]struct{}
}

// subscriptionRegistry holds every live subscription dialog.
type subscriptionRegistry struct {
	mu          sync.Mutex
	byID        map[DialogID]*Subscription
	resources   map[resourceKey]*resourceState
	perSource   map[string]int // source IP → subscriptions
	perResource map[string]int // resource → subscriptions in any package
	tcp         tcpSources     // the TCP connections NOTIFYs go out on
}

func (r *subscriptionRegistry) init() {
	r.byID = map[DialogID]*Subscription{}
	r.resources = map[resourceKey]*resourceState{}
	r.perSource = map[string]int{}
	r.perResource = map[string]int{}
	r.tcp = tcpSources{}
}

// stateLocked returns the resource's state, creating it; callers hold r.mu.
func (r *subscriptionRegistry) stateLocked(key resourceKey) *resourceState {
	rs := r.resources[key]
	if rs == nil {
		rs = &resourceState{key: key, subs: map[*Subscription]struct{}{}}
		r.resources[key] = rs
	}
	return rs
}

// add registers s within the limits and gives it the resource's current body.
func (r *subscriptionRegistry) add(s *Subscription, limits SubscriptionConfig) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.byID) >= limits.MaxTotal {
		return errTooMany
	}
	if r.perSource[s.sourceIP] >= limits.MaxPerSource {
		return errTooManyFromSource
	}
	rs := r.resources[resourceKey{s.Resource, s.Event}]
	if rs == nil || rs.body.IsZero() {
		return errNotPublished
	}
	s.rs = rs
	s.body, s.bodySeq = rs.body, rs.seq
	rs.subs[s] = struct{}{}
	r.byID[s.ID] = s
	r.perSource[s.sourceIP]++
	r.perResource[s.Resource]++
	r.tcp.add(&s.dialogPeer)
	return nil
}

// current is the body a one-off fetch gets.
func (r *subscriptionRegistry) current(resource, event string) (presence.Body, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rs := r.resources[resourceKey{resource, event}]
	if rs == nil || rs.body.IsZero() {
		return presence.Body{}, false
	}
	return rs.body, true
}

// remove drops s; false when it was not registered.
func (r *subscriptionRegistry) remove(s *Subscription) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byID[s.ID] != s {
		return false
	}
	delete(r.byID, s.ID)
	delete(s.rs.subs, s)
	if r.perSource[s.sourceIP]--; r.perSource[s.sourceIP] <= 0 {
		delete(r.perSource, s.sourceIP)
	}
	if r.perResource[s.Resource]--; r.perResource[s.Resource] <= 0 {
		delete(r.perResource, s.Resource)
	}
	r.tcp.remove(&s.dialogPeer)
	return true
}

func (r *subscriptionRegistry) get(id DialogID) *Subscription {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byID[id]
}

func (r *subscriptionRegistry) all() []*Subscription {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Subscription, 0, len(r.byID))
	for _, s := range r.byID {
		out = append(out, s)
	}
	return out
}

// Publish sets the current body of resource in one event package and
// notifies its subscribers. It never blocks on the network: the fan-out
// runs on its own goroutine, one per resource, so parkd may call it while
// holding its slot-state lock, and NOTIFYs of one resource leave in order.
func (ep *Endpoint) Publish(resource, event string, body presence.Body) {
	r := &ep.subs
	r.mu.Lock()
	rs := r.stateLocked(resourceKey{resource, event})
	rs.body = body
	rs.seq++
	rs.publishedAt = time.Now()
	start := !rs.fanning && len(rs.subs) > 0
	if start {
		rs.fanning = true
	}
	r.mu.Unlock()
	if start {
		go ep.fanout(rs)
	}
}

// PublicationWaiter is a Handler that calls Publish from a goroutine of
// its own (parkd renders BLF bodies after releasing its slot lock).
// Shutdown waits for it after hanging up the calls, so that the final
// NOTIFYs carry the state after the hang-ups.
type PublicationWaiter interface {
	// AwaitPublications returns once every change made so far is published.
	AwaitPublications()
}

// fanout hands the latest body to every subscriber until no newer
// publication is waiting; bodies published meanwhile are coalesced.
func (ep *Endpoint) fanout(rs *resourceState) {
	r := &ep.subs
	var batch []*Subscription
	for {
		r.mu.Lock()
		if rs.sentSeq == rs.seq || len(rs.subs) == 0 {
			rs.fanning = false
			r.mu.Unlock()
			return
		}
		body, seq, at := rs.body, rs.seq, rs.publishedAt
		rs.sentSeq = seq
		batch = batch[:0]
		for s := range rs.subs {
			batch = append(batch, s)
		}
		r.mu.Unlock()

		track := newFanoutTrack(ep, rs.key.resource, at, len(batch))
		deliver(batch, body, seq, track)
	}
}

// fanoutChunk is the fewest subscribers worth a goroutine of their own.
const fanoutChunk = 128

// deliver writes a large fan-out from one goroutine per CPU: the cost is
// mostly the kernel's, and it spreads. Each goroutine hands its UDP
// NOTIFYs to the kernel in batches (sendmmsg), not one sendto each.
func deliver(subs []*Subscription, body presence.Body, seq uint64, track *fanoutTrack) {
	if len(subs) == 0 {
		return
	}
	ep := subs[0].ep
	send := func(part []*Subscription) {
		b := ep.newNotifyBatch()
		for _, s := range part {
			s.update(body, seq, track, b)
			if b.full() {
				b.flush()
			}
		}
		b.flush()
		b.done()
	}
	workers := min(runtime.GOMAXPROCS(0), (len(subs)+fanoutChunk-1)/fanoutChunk)
	if workers <= 1 {
		send(subs)
		return
	}
	var wg sync.WaitGroup
	per := (len(subs) + workers - 1) / workers
	for part := range slices.Chunk(subs, per) {
		wg.Go(func() { send(part) })
	}
	wg.Wait()
}

// fanoutTrack reports when the last NOTIFY of one publication was written.
type fanoutTrack struct {
	ep        *Endpoint
	resource  string
	start     time.Time
	total     int
	remaining atomic.Int64
}

func newFanoutTrack(ep *Endpoint, resource string, start time.Time, n int) *fanoutTrack {
	if ep.cfg.Subscriptions.OnFanout == nil {
		return nil
	}
	t := &fanoutTrack{ep: ep, resource: resource, start: start, total: n}
	t.remaining.Store(int64(n))
	return t
}

// done marks one subscriber handled (its NOTIFY written, or skipped).
func (t *fanoutTrack) done() {
	if t == nil {
		return
	}
	if t.remaining.Add(-1) == 0 {
		t.ep.cfg.Subscriptions.OnFanout(t.resource, t.total, time.Since(t.start))
	}
}

// Subscribers is the number of live subscriptions to resource, in any
// event package.
func (ep *Endpoint) Subscribers(resource string) int {
	ep.subs.mu.Lock()
	defer ep.subs.mu.Unlock()
	return ep.subs.perResource[resource]
}

// Subscriptions is the number of live subscriptions in all.
func (ep *Endpoint) Subscriptions() int {
	ep.subs.mu.Lock()
	defer ep.subs.mu.Unlock()
	return len(ep.subs.byID)
}

func hostOf(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// maxUDPMessage is the largest NOTIFY parkd sends over UDP. A lot with a
// few parked calls already passes the 1,300 bytes after which RFC 3261
// §18.1.1 wants TCP, but a phone that subscribed over UDP may listen on
// nothing else; like Asterisk and Kamailio, parkd sends it anyway and lets
// IP fragment it.
const maxUDPMessage = 65000
