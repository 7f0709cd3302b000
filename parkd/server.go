// Package parkd is the parking domain: lots, slots, the park/retrieve state
// machine and the event stream. It decides; sipcore carries it out.
package parkd

import (
	"cmp"
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parkd/parkd/parkd/store"
	"github.com/parkd/parkd/sipcore"
	"github.com/parkd/parkd/sipcore/media"
)

// ShutdownGrace bounds how long Run waits for BYEs to be answered on stop.
const ShutdownGrace = 4 * time.Second

// Server is the parking daemon. Server.mu is the one owner of slot state.
type Server struct {
	conf     atomic.Pointer[Config] // replaced whole by Reload
	log      *slog.Logger
	endpoint *sipcore.Endpoint
	rtp      *media.Allocator
	music    music // music on hold; Reload may change its source
	events   *eventBus
	blf      *blf
	clock    Clock
	store    *store.Store         // nil without a data directory
	dirLock  *store.DirLock       // the data directory, held while the store is open
	history  *store.HistoryWriter // nil without a store

	fanoutObserver atomic.Pointer[fanoutFunc]

	mu      sync.Mutex
	lots    []*lot
	byExt   map[string]*lot  // park extensions (and "park")
	byRetr  map[string]*lot  // retrieve extensions
	bySlot  map[string]*slot // slot numbers
	byLot   map[string]*lot
	inSlot  map[*sipcore.Call]*slot
	bridged map[*sipcore.Call]*sipcore.Call
	// Every call parkd handles, by its SIP leg and by its API id.
	records     map[*sipcore.Call]*callRecord
	byID        map[string]*callRecord
	lastID      uint64
	byAttendant map[string]*lot // attendant extensions
	started     time.Time
	// overrides are the live policy layers by scope (defaults, lot/NAME,
	// slot/NUMBER), kept in the store.
	overrides map[string]Policy
	// policyGen counts changes to the overrides and the lots: a slot's
	// cached effective policy is good while it matches (policy.go).
	policyGen uint64
	stopping  bool // Run is shutting down: no new recalls
	// endedConsults are consultation calls that hung up moments ago, for
	// a transferee's INVITE that names one (consult_gone.go).
	endedConsults map[sipcore.DialogID]endedConsult
	endedOrder    consultOrder // endedConsults' keys, oldest first

	// referAccepted, when set (tests only), runs after a REFER is answered
	// and before parkd follows it: the moment a phone's BYE may come in.
	// Under mu.
	referAccepted func()
	// answeredHook, when set (tests only), runs when a call parkd placed
	// (a recall, a connect) was answered, before parkd takes it.
	answeredHook atomic.Pointer[func(*sipcore.Call)]

	// retired are slots a reload removed while they held a call, in
	// number order; each goes when its call leaves (reload_lots.go).
	retired []*slot

	reloader  func() (Config, error) // re-reads the config file and flags
	reloadMu  sync.Mutex             // one reload at a time
	policyMu  sync.Mutex             // serialises SetPolicy (its store write is outside mu)
	storeOnce sync.Once
}

// Option changes how New builds a Server.
type Option func(*Server)

// WithEventWindow keeps n past events for subscribers that reconnect.
func WithEventWindow(n int) Option { return func(s *Server) { s.events.windowSize = max(n, 1) } }

// WithClock drives every recall timer from c instead of the wall clock.
func WithClock(c Clock) Option { return func(s *Server) { s.clock = c } }

// New builds the daemon from a validated config, opens its store and
// binds its SIP listeners and RTP range; errors name what could not be had.
func New(cfg Config, log *slog.Logger, opts ...Option) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{
		log: log, events: newEventBus(log), clock: RealClock{},
		byExt: map[string]*lot{}, byRetr: map[string]*lot{}, bySlot: map[string]*slot{},
		byLot: map[string]*lot{}, inSlot: map[*sipcore.Call]*slot{}, bridged: map[*sipcore.Call]*sipcore.Call{},
		overrides: map[string]Policy{},
		records:   map[*sipcore.Call]*callRecord{}, byID: map[string]*callRecord{}, byAttendant: map[string]*lot{},
	}
	s.conf.Store(&cfg)
	for _, o := range opts {
		o(s)
	}
	s.started = s.clock.Now()
	settings, err := endpointSettings(&cfg)
	if err != nil {
		return nil, err
	}
	lots, err := buildLots(&cfg)
	if err != nil {
		return nil, err
	}
	if err := s.openStore(); err != nil {
		return nil, err
	}
	built := false
	defer func() {
		if !built {
			s.closeStore()
		}
	}()
	s.lots = lots
	s.indexLotsLocked()
	s.blf = newBLF(s.lots, nil, s.configuredPolicy)
	s.blf.restrict(s.restricted)
	s.events.addSink(func(ev Event) { s.blf.onEvent(ev) }) // s.blf is replaced by Reload, under s.mu like every event
	if s.history != nil {
		s.events.addSink(s.recordHistory)
	}

	moh, err := loadMusic(cfg.MOH, log)
	if err != nil {
		return nil, err
	}
	s.music.set(moh)

	rtpIP, err := netip.ParseAddr(cfg.RTP.Address)
	if err != nil {
		return nil, &ConfigError{Key: "rtp.address", Msg: err.Error()}
	}
	low, high, err := cfg.RTPPortRange()
	if err != nil {
		return nil, err
	}
	if s.rtp, err = media.NewAllocator(rtpIP, low, high); err != nil {
		return nil, &ConfigError{Key: "rtp.ports", Msg: err.Error()}
	}

	listen, err := cfg.ListenURIs()
	if err != nil {
		return nil, err
	}
	var addrs []sipcore.ListenAddr
	for _, l := range listen {
		addrs = append(addrs, sipcore.ListenAddr{Network: l.Network, Addr: l.Addr})
	}
	settings.Subscriptions.OnFanout = s.observeFanout
	s.endpoint, err = sipcore.NewEndpoint(sipcore.Config{
		Listen: addrs, Advertise: cfg.SIP.Advertise, UserAgent: "parkd", RTP: s.rtp, Logger: log,
		TCP: sipcore.TCPLimits{
			MaxConnections: cfg.SIP.TCP.MaxConnections, MaxPerSource: cfg.SIP.TCP.MaxPerSource,
			IdleTimeout: endpointIdleTimeout(cfg.SIP.TCP), MessageTimeout: cfg.SIP.TCP.MessageTimeout.D(),
		},
		DeferServing: true, // Run serves, once the music plays
		Settings:     settings,
	}, s)
	if err != nil {
		return nil, err
	}
	warnExposure(log, cfg, s.endpoint.Addrs(), settings.Auth.Enabled())
	media.SetMaxRelayDelay(cfg.RTP.MaxRelayDelay.D()) // process-wide, as parkd runs one server
	s.mu.Lock()
	s.blf.withdraw = func(resource string) { s.endpoint.Withdraw(resource, sipcore.ReasonNoResource, true) }
	s.blf.subscribers, s.blf.now = s.endpoint.Subscribers, s.clock.Now
	s.blf.start(s.entityHost(), s.endpoint.Publish)
	s.mu.Unlock()
	built = true
	return s, nil
}

// config is the configuration in force; Reload replaces it whole, so a
// caller reads one version of every key.
func (s *Server) config() *Config { return s.conf.Load() }

// entityHost is the host BLF bodies name slots under.
func (s *Server) entityHost() string {
	if s.config().SIP.Advertise != "" {
		return s.config().SIP.Advertise
	}
	ap, err := netip.ParseAddrPort(s.endpoint.Addrs()[0].Addr)
	if err != nil {
		return "localhost"
	}
	return ap.Addr().Unmap().String()
}

// SIPAddrs lists the bound SIP listeners.
func (s *Server) SIPAddrs() []sipcore.ListenAddr { return s.endpoint.Addrs() }

// Run plays music on hold and serves calls until ctx ends, then stops
// taking calls and hangs up every call with BYE.
func (s *Server) Run(ctx context.Context) error {
	s.music.start()
	s.endpoint.Serve()
	s.logStartup()
	for _, a := range s.endpoint.Addrs() {
		s.log.Info("parkd listening", "sip", a.String())
	}
	<-ctx.Done()
	s.stopRecalls()
	s.log.Info("shutting down: hanging up every call", "calls", s.endpoint.Calls())
	grace, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	s.endpoint.Shutdown(grace)
	s.rtp.Close()
	s.music.stop()
	s.events.close()
	s.closeStore()
	if s.history != nil && s.history.Late() > 0 {
		s.log.Warn("history of calls that ended after the store closed was not written", "rows", s.history.Late())
	}
	s.log.Info("parkd stopped")
	return nil
}

// logStartup writes the one line that tells an admin what this parkd
// serves, so a wrong config file or data directory shows at once.
func (s *Server) logStartup() {
	lots := make([]string, 0, len(s.config().Lots))
	for _, lc := range s.config().Lots {
		lots = append(lots, strings.TrimSpace(lc.Name+" "+lc.Slots))
	}
	s.mu.Lock()
	slots := len(s.bySlot)
	s.mu.Unlock()
	sip := make([]string, 0, len(s.endpoint.Addrs()))
	for _, a := range s.endpoint.Addrs() {
		sip = append(sip, a.String())
	}
	s.log.Info("parkd started",
		"lots", strings.Join(lots, ", "),
		"slots", slots,
		"rtp", s.config().RTP.Ports,
		"data", cmp.Or(s.config().Data, "none"),
		"moh", cmp.Or(s.config().MOH, "builtin"),
		"api", cmp.Or(s.config().API.Listen, "off"),
		"sip", strings.Join(sip, " "))
}

// stopRecalls ends every recall timer and ringing before the calls are
// hung up, so nothing rings a phone for a call that is going away.
func (s *Server) stopRecalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopping = true
	for _, sl := range s.bySlot {
		if sl.parked != nil {
			sl.parked.stopRecallLocked()
		}
	}
	for _, rec := range s.records {
		if rec.queueTimer != nil {
			rec.queueTimer.Stop()
		}
		if rec.stopOp != nil {
			rec.stopOp()
		}
	}
}

// Events streams every slot change; call the returned function to stop.
func (s *Server) Events(buffer int) (<-chan Event, func()) { return s.events.subscribe(buffer) }

// Slot returns one slot's view.
func (s *Server) Slot(ctx context.Context, name string) (SlotView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sl, ok := s.bySlot[name]
	if !ok {
		return SlotView{}, errorf(CodeNoSuchSlot, "no slot %q", name)
	}
	return sl.viewLocked(), nil
}

// viewLocked is the slot as the API and console show it; callers hold s.mu.
func (sl *slot) viewLocked() SlotView {
	return SlotView{Lot: sl.lot.cfg.Name, Slot: sl.name, State: sl.state(), Version: sl.version, Call: sl.parked.view(),
		Subscribers: sl.watchers, Retired: sl.retired}
}

func (sl *slot) state() string {
	switch {
	case sl.parked == nil:
		return SlotFree
	case sl.retrieving:
		return SlotRetrieving
	case sl.parked.ringing != "":
		return SlotRecalling
	}
	return SlotParked
}
