// Package simphone is a small town of simulated people who really call a
// parkd over loopback SIP, with audio: callers who dial in and wait in the
// attendant queue or get transferred to park, and desk phones that park
// calls, pick them up again, answer recalls and take the calls the
// attendant console connects to them. `parkd demo` runs one next to the
// daemon and the console so that a newcomer sees calls queue, park, ring
// back on recall and be retrieved within the first minute.
//
// It is built on sipcore itself: one sipcore.Endpoint on 127.0.0.1 is the
// user agent of every person (the Request-URI user says whose phone
// rings), and each person plays its own jingle (a media.Source) into its
// calls, so a bridge carries real audio in both directions.
//
// Unlike sipcore/siptest it is not a test helper: it never fails a test,
// only logs what the people do, and keeps running at a gentle pace until
// its context ends.
package simphone

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parkd/parkd/sipcore"
	"github.com/parkd/parkd/sipcore/media"
)

// The extensions of parkd's default lot `main`, which the town dials.
const (
	AttendantExtension = "0"    // callers wait in the attendant queue
	ParkExtension      = "700"  // a transfer here parks the call
	RetrieveExtension  = "*700" // picks up the call parked longest
)

// DefaultRTPPorts is the town's RTP range when Config.RTPPorts is empty.
const DefaultRTPPorts = "47500-47599"

// Config says where the town calls and how it reports.
type Config struct {
	// Target is the daemon's SIP UDP address, host:port (a leading
	// "udp://" is accepted). It is needed by Run, not by Start: when the
	// daemon's port is only known once it runs, set it with SetTarget.
	Target string
	// RTPPorts is the town's own RTP range on 127.0.0.1, "LOW-HIGH"; it
	// must not overlap the daemon's. Empty means DefaultRTPPorts.
	RTPPorts string
	// Log gets one line per thing a person does (the console's log pane);
	// nil discards them. sipcore's own chatter below WARN is left out.
	Log *slog.Logger
	// TimeScale stretches every delay of the script: 0 or 1 is real time,
	// 0.2 plays the first minute in 12 s. The daemon's timers must be
	// scaled alike (parkd.WithClock) for the story to hold; for tests.
	TimeScale float64
}

// Phone is one desk phone of the town.
type Phone struct {
	Name    string // the SIP user, e.g. "reception"
	Display string // e.g. "Reception"
	URI     string // sip:reception@127.0.0.1:PORT
	Role    string // RoleOperator, RoleParker or RoleRingGroup
	// Behaviour says in words what the person at this phone does, for
	// the demo to show a newcomer.
	Behaviour string
}

// Desk phone roles: what the demo's config does with each phone.
const (
	RoleOperator  = "operator"   // the lot's operator: the receptionist's own phone
	RoleParker    = "parker"     // transfers callers to park; its recalls ring it
	RoleRingGroup = "ring_group" // a member of the recall ring group
)

// Stats counts what the town's calls did, for tests and curious demos.
type Stats struct {
	// Calls is how many callers' calls parkd answered (queued or parked).
	Calls int
	// Conversations is how many calls a desk phone answered or placed
	// (a connect from the console, a recall, a pick-up) that have ended.
	Conversations int
	// Silent is how many of those conversations heard no RTP at all.
	Silent int
	// Heard is the RTP packets desk phones received in conversations:
	// the callers' jingles relayed through parkd's bridges.
	Heard uint64
}

// Town is a handful of simulated people around one parkd: callers who
// dial in, and desk phones that park, answer recalls and retrieve.
type Town struct {
	log    *slog.Logger
	scale  float64
	ep     *sipcore.Endpoint
	rtp    *media.Allocator
	host   string // 127.0.0.1:PORT of the town's SIP listener
	target atomic.Pointer[string]

	desks   map[string]*desk // by SIP user
	order   []*desk
	callers []person // the script's cast, in order of appearance

	ctx  context.Context // ends when Run's ctx does or on Close
	stop context.CancelFunc

	mu       sync.Mutex
	stopping bool
	wg       sync.WaitGroup     // every goroutine that owns a call
	active   map[string]*caller // callers on the line, by SIP user
	stats    Stats

	sources   sync.WaitGroup
	running   atomic.Bool
	closeOnce sync.Once
}

// person is anyone in the town, with a jingle of their own.
type person struct {
	user    string
	display string
	notes   []int // MIDI notes of their jingle
	src     *media.Source
}

// desk is a desk phone and how its owner treats a ringing phone.
type desk struct {
	person
	role        string
	answerAfter time.Duration // 0: nobody answers (it rings out)
	talkFor     time.Duration // how long they talk once answered
	behaviour   string

	mu   sync.Mutex
	busy bool // ringing towards an answer, or in a call
}

// caller is a person on the line to parkd.
type caller struct {
	person
	talking atomic.Bool // a desk phone answered a call from them
}

const (
	maxCallers  = 6                // callers on the line at once; more wait for the next turn
	ringTimeout = 10 * time.Second // a call parkd does not answer by then is given up (real time)
	byeTimeout  = 2 * time.Second

	queuePatience = 90 * time.Second  // a queued caller nobody deals with hangs up
	parkPatience  = 150 * time.Second // likewise for a parked one (recalls usually end it sooner)
	retrieveTalk  = 8 * time.Second   // a desk phone that picked up a parked call talks this long

	steadyFrom = 60 * time.Second // the steady pace starts after the scripted minute
)

// Start binds the town's SIP listener (UDP on 127.0.0.1, a free port) and
// prepares its people; their desk phones answer from now on, so the
// daemon's config can point at Phones before the daemon starts. Nobody
// calls until Run. ctx is only checked; the town lives until Close.
func Start(ctx context.Context, cfg Config) (*Town, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ports := cfg.RTPPorts
	if ports == "" {
		ports = DefaultRTPPorts
	}
	low, high, err := parseRange(ports)
	if err != nil {
		return nil, err
	}
	alloc, err := media.NewAllocator(netip.AddrFrom4([4]byte{127, 0, 0, 1}), low, high)
	if err != nil {
		return nil, fmt.Errorf("simphone: %w", err)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &Town{
		log:    log.With("component", "simphone"),
		rtp:    alloc,
		scale:  cfg.TimeScale,
		desks:  map[string]*desk{},
		active: map[string]*caller{},
	}
	if t.scale <= 0 {
		t.scale = 1
	}
	if cfg.Target != "" {
		if err := t.SetTarget(cfg.Target); err != nil {
			return nil, err
		}
	}
	quiet := slog.New(minLevel{log.Handler(), slog.LevelWarn}).With("component", "simphone")
	t.ep, err = sipcore.NewEndpoint(sipcore.Config{
		Listen:    []sipcore.ListenAddr{{Network: "udp", Addr: "127.0.0.1:0"}},
		UserAgent: "parkd-simphone",
		RTP:       alloc,
		Logger:    quiet,
		Settings: sipcore.Settings{
			Allow:      []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
			RTPTimeout: 30 * time.Second,
		},
	}, handler{t})
	if err != nil {
		return nil, fmt.Errorf("simphone: %w", err)
	}
	t.host = t.ep.Addrs()[0].Addr
	t.ctx, t.stop = context.WithCancel(context.Background())

	for _, d := range deskPhones() {
		t.order = append(t.order, d)
		t.desks[d.user] = d
	}
	t.callers = cast()
	for _, p := range t.everyone() {
		p.src = media.NewSourceFromPCM(p.user, jingle(p.notes, 180*time.Millisecond, 700*time.Millisecond))
		p.src.SetLogger(quiet)
		t.sources.Add(1)
		go func() {
			defer t.sources.Done()
			p.src.Run(t.ctx)
		}()
	}
	return t, nil
}

// deskPhones is who sits at the desk phones, and how they answer.
func deskPhones() []*desk {
	return []*desk{
		{person: person{user: "reception", display: "Reception", notes: []int{76, 79, 84}},
			role: RoleOperator, answerAfter: 2 * time.Second, talkFor: 15 * time.Second,
			behaviour: "answers after 2 s and talks 15 s: connect a call to it from the console"},
		{person: person{user: "sales", display: "Sales", notes: []int{67, 71, 74, 79}},
			role: RoleParker, answerAfter: 3 * time.Second, talkFor: 10 * time.Second,
			behaviour: "parks callers and picks them up again with " + RetrieveExtension + "; answers after 3 s"},
		{person: person{user: "support", display: "Support", notes: []int{62, 66, 69}},
			role:      RoleParker,
			behaviour: "parks callers, then is away from the desk: its recalls ring out"},
		{person: person{user: "backoffice", display: "Back office", notes: []int{72, 67, 64, 60}},
			role: RoleRingGroup, answerAfter: 3 * time.Second, talkFor: 10 * time.Second,
			behaviour: "answers ring group recalls after 3 s and talks 10 s"},
		{person: person{user: "warehouse", display: "Warehouse", notes: []int{69, 69, 76}},
			role:      RoleRingGroup,
			behaviour: "rings with the ring group, nobody answers"},
	}
}

// cast is the callers, in order of appearance; the steady pace cycles
// through them from Erin on.
func cast() []person {
	return []person{
		{user: "5550101", display: "Alice Moreau", notes: []int{72, 74, 76}},
		{user: "5550102", display: "Bob Lee", notes: []int{64, 67, 64}},
		{user: "5550103", display: "Carol Diaz", notes: []int{81, 79, 76, 72}},
		{user: "5550104", display: "Dave Kim", notes: []int{60, 60, 67}},
		{user: "5550105", display: "Erin Walsh", notes: []int{69, 72, 69, 65}},
		{user: "5550106", display: "Frank Osei", notes: []int{62, 65, 69}},
		{user: "5550107", display: "Grace Chen", notes: []int{77, 76, 74}},
		{user: "5550108", display: "Heidi Novak", notes: []int{65, 69, 72, 77}},
		{user: "5550109", display: "Ivan Petrov", notes: []int{60, 62, 67}},
		{user: "5550110", display: "Judy Brown", notes: []int{84, 79, 84}},
		{user: "5550111", display: "Mallory Ruiz", notes: []int{71, 74, 78}},
		{user: "5550112", display: "Oscar Haddad", notes: []int{62, 67, 71, 74}},
	}
}

func (t *Town) everyone() []*person {
	var out []*person
	for _, d := range t.order {
		out = append(out, &d.person)
	}
	for i := range t.callers {
		out = append(out, &t.callers[i])
	}
	return out
}

// SetTarget sets the daemon's SIP UDP address (host:port, or udp://host:port)
// for a Run that has not started yet.
func (t *Town) SetTarget(addr string) error {
	addr = strings.TrimPrefix(addr, "udp://")
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("simphone: target %q: want host:port of parkd's UDP listener", addr)
	}
	t.target.Store(&addr)
	return nil
}

// Phones lists the desk phones, for the demo's config: the lot's operator
// is the RoleOperator phone, the recall ring group the RoleRingGroup ones.
func (t *Town) Phones() []Phone {
	out := make([]Phone, 0, len(t.order))
	for _, d := range t.order {
		out = append(out, Phone{Name: d.user, Display: d.display, URI: t.uri(d.user), Role: d.role, Behaviour: d.behaviour})
	}
	return out
}

// Operator is the URI of the receptionist's phone, for the lot's operator.
func (t *Town) Operator() string {
	for _, p := range t.Phones() {
		if p.Role == RoleOperator {
			return p.URI
		}
	}
	return ""
}

// RingGroup is the URIs of the recall ring group's phones.
func (t *Town) RingGroup() []string {
	var out []string
	for _, p := range t.Phones() {
		if p.Role == RoleRingGroup {
			out = append(out, p.URI)
		}
	}
	return out
}

// Stats is a snapshot of what the town's calls did so far.
func (t *Town) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stats
}

// Run plays the scripted first minute, then brings a new caller every 15
// to 20 s, alternately to the queue and to park (parked by Sales, who
// picks the longest-waiting call up 12 s later, or by Support, whose calls
// are recalled), with at most 6 callers on the line at once, until ctx
// ends (or Close). It then hangs up every call of the town and returns
// nil. A town runs once.
//
// The first minute, with the demo policy (recall after 20 s, ring the
// parker 8 s, then the ring group 8 s, 2 recalls):
//
//	 1 s  Alice calls the attendant (0) and waits in the queue
//	 3 s  Sales transfers Bob to park (700): Bob is parked, Sales the parker
//	 5 s  Support transfers Carol to park: parked, Support the parker
//	 8 s  Dave calls the attendant and waits in the queue
//	12 s  Sales dials *700 and picks up the longest-waiting call, Bob; talks 8 s
//	25 s  Carol's recall rings Support, who is away (rings out 8 s),
//	33 s  then the ring group: Back office answers after 3 s, talks 10 s
//
// Alice and Dave wait for the human at the console (enter connects a call
// to Reception, which answers after 2 s and talks 15 s) and give up after
// 90 s.
func (t *Town) Run(ctx context.Context) error {
	if t.target.Load() == nil {
		return errors.New("simphone: no target: set Config.Target or call SetTarget")
	}
	if !t.running.CompareAndSwap(false, true) {
		return errors.New("simphone: Run called twice")
	}
	if t.ctx.Err() != nil {
		return errors.New("simphone: the town is closed")
	}
	defer context.AfterFunc(ctx, t.stop)()
	t.script()
	t.drain()
	return nil
}

// uri is a person's SIP URI at the town's listener.
func (t *Town) uri(user string) string { return "sip:" + user + "@" + t.host }

// dialURI is an extension at the daemon.
func (t *Town) dialURI(ext string) string { return "sip:" + ext + "@" + *t.target.Load() }

func (t *Town) party(p person) sipcore.Party {
	return sipcore.Party{Display: p.display, URI: t.uri(p.user), User: p.user}
}

func parseRange(s string) (low, high int, err error) {
	a, b, ok := strings.Cut(s, "-")
	if ok {
		low, err = strconv.Atoi(strings.TrimSpace(a))
		if err == nil {
			high, err = strconv.Atoi(strings.TrimSpace(b))
		}
	}
	if !ok || err != nil {
		return 0, 0, fmt.Errorf("simphone: RTP ports %q: want LOW-HIGH", s)
	}
	return low, high, nil
}
