package parkd

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/parkd/parkd/sipcore/media"
)

// ReloadResult says what a reload changed.
type ReloadResult struct {
	Lots []string `json:"lots"` // the lots in force, in config order
	// Added and Removed are slots the new config brought and took away;
	// Retired are removed slots that still hold a call: each keeps it
	// (retrievable, recalled as before) and goes when the call leaves.
	Added   []string `json:"added,omitempty"`
	Removed []string `json:"removed,omitempty"`
	Retired []string `json:"retired,omitempty"`
	// Changed names the top-level config keys whose values changed and
	// apply now (sip, blf, moh, defaults, lots, ring_groups, rtp.timeout…).
	Changed []string `json:"changed,omitempty"`
	// NeedsRestart names the keys that changed but are bound at start
	// (sip.listen, rtp.ports, api, data…): the old values stay until a restart.
	NeedsRestart []string `json:"needs_restart,omitempty"`
}

// CodeInvalidConfig: a reload found the config file unreadable or invalid
// and changed nothing.
const CodeInvalidConfig = "invalid_config"

// WithReloader tells Reload how to read the configuration again: the file
// and flags parkd was started with.
func WithReloader(load func() (Config, error)) Option {
	return func(s *Server) { s.reloader = load }
}

// Reload re-reads the configuration (SIGHUP, `parkd ctl reload`) and
// applies it; see Apply. A config that cannot be read or has errors
// changes nothing and is returned as an invalid_config error listing
// every problem.
func (s *Server) Reload(ctx context.Context) (ReloadResult, error) {
	if s.reloader == nil {
		return ReloadResult{}, errorf(CodeUnavailable, "this parkd has no config file to re-read")
	}
	cfg, err := s.reloader()
	if err != nil {
		s.log.Error("config reload refused; the running config stays", "error", err)
		return ReloadResult{}, &Error{Code: CodeInvalidConfig, Message: err.Error()}
	}
	return s.Apply(ctx, cfg)
}

// Apply puts cfg in force at once, without dropping a call: lots, slots,
// policies, music on hold, BLF, rate limits, sip.allow, sip.trusted and
// sip.auth change for every request from now on. Calls keep their slot
// and their music; a slot the new config drops keeps its call until the
// call ends (Retired). A recall already counting down keeps its timer;
// the next one follows the new policy. Keys bound at start keep their old
// values (NeedsRestart). An invalid cfg changes nothing.
func (s *Server) Apply(ctx context.Context, cfg Config) (ReloadResult, error) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	// SetPolicy checks an override against every slot outside s.mu;
	// policyMu keeps the slots from changing under it.
	s.policyMu.Lock()
	defer s.policyMu.Unlock()
	if err := ctx.Err(); err != nil {
		return ReloadResult{}, err
	}
	refuse := func(err error) (ReloadResult, error) {
		s.log.Error("config reload refused; the running config stays", "error", err)
		return ReloadResult{}, &Error{Code: CodeInvalidConfig, Message: err.Error()}
	}
	if err := cfg.Validate(); err != nil {
		return refuse(err)
	}
	old := s.config()
	var res ReloadResult
	next := cfg.Clone()
	res.NeedsRestart = keepBoundAtStart(&next, old)
	res.Changed = changedKeys(old, &next)

	// Everything that can fail is done before anything changes.
	settings, err := endpointSettings(&next)
	if err != nil {
		return refuse(err)
	}
	lots, err := buildLots(&next)
	if err != nil {
		return refuse(err)
	}
	var newMusic *mohSource
	if !s.music.src.Load().sameAs(next.MOH) {
		if newMusic, err = loadMusic(next.MOH, s.log); err != nil {
			return refuse(err)
		}
	}

	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		return ReloadResult{}, errorf(CodeUnavailable, "parkd is stopping")
	}
	before := s.slotPoliciesLocked()
	s.conf.Store(&next)
	s.endpoint.Reconfigure(settings)
	media.SetMaxRelayDelay(next.RTP.MaxRelayDelay.D())
	if newMusic != nil {
		moved := s.music.swap(newMusic)
		s.log.Info("music on hold changed", "moh", newMusic.Name(), "listeners_moved", moved)
	}
	res.Added, res.Removed, res.Retired = s.adoptLotsLocked(lots)
	s.rebuildBLFLocked()
	for _, sl := range s.retired {
		if slices.Contains(res.Retired, sl.name) {
			s.publish(Event{Kind: EventRetired, Call: sl.parked.view(), Detail: "no longer in the config; kept until its call ends"}, sl)
		}
	}
	for _, sl := range s.bySlot {
		if p, ok := before[sl]; ok && !sl.retired {
			if now := s.policyLocked(sl); !reflect.DeepEqual(p, now) {
				s.emitPolicy(sl, &now)
			}
		}
	}
	for _, l := range s.lots {
		res.Lots = append(res.Lots, l.cfg.Name)
	}
	s.events.publish(Event{Kind: EventReloaded, Time: s.clock.Now(), Detail: res.summary()})
	s.mu.Unlock()

	s.log.Info("config reloaded", "lots", strings.Join(res.Lots, ","), "changed", strings.Join(res.Changed, ","),
		"added", len(res.Added), "removed", len(res.Removed), "retired", strings.Join(res.Retired, ","),
		"needs_restart", strings.Join(res.NeedsRestart, ","))
	return res, nil
}

// Config is a copy of the configuration in force.
func (s *Server) Config() Config { return s.config().Clone() }

// Changes says what the reload did, one phrase per kind of change
// ("slots retired (kept until their call ends): 702"); none when nothing
// changed.
func (r ReloadResult) Changes() []string {
	var out []string
	add := func(label string, list []string) {
		if len(list) > 0 {
			out = append(out, fmt.Sprintf("%s: %s", label, strings.Join(list, ", ")))
		}
	}
	add("changed", r.Changed)
	add("slots added", r.Added)
	add("slots removed", r.Removed)
	add("slots retired (kept until their call ends)", r.Retired)
	add("needs a restart to change", r.NeedsRestart)
	return out
}

// summary is the reload in one line, for the event and the console.
func (r ReloadResult) summary() string {
	changes := r.Changes()
	if len(changes) == 0 {
		return "config reloaded: nothing changed"
	}
	return "config reloaded: " + strings.Join(changes, "; ")
}

// boundAtStart are the keys a running parkd cannot change: its sockets,
// its RTP range and its data directory.
var boundAtStart = []struct {
	key string
	get func(*Config) any
}{
	{"sip.listen", func(c *Config) any { return &c.SIP.Listen }},
	{"sip.advertise", func(c *Config) any { return &c.SIP.Advertise }},
	{"sip.tcp", func(c *Config) any { return &c.SIP.TCP }},
	{"rtp.address", func(c *Config) any { return &c.RTP.Address }},
	{"rtp.ports", func(c *Config) any { return &c.RTP.Ports }},
	{"api", func(c *Config) any { return &c.API }},
	{"data", func(c *Config) any { return &c.Data }},
}

// keepBoundAtStart copies the start-bound keys of old into next and lists
// those that differed.
func keepBoundAtStart(next, old *Config) []string {
	var changed []string
	for _, b := range boundAtStart {
		dst, src := reflect.ValueOf(b.get(next)).Elem(), reflect.ValueOf(b.get(old)).Elem()
		if !reflect.DeepEqual(dst.Interface(), src.Interface()) {
			changed = append(changed, b.key)
			dst.Set(src)
		}
	}
	return changed
}

// changedKeys lists the top-level keys (sip and rtp by sub-key) whose
// values differ between two configs. next has been through
// keepBoundAtStart, so start-bound keys are equal and never listed.
func changedKeys(old, next *Config) []string {
	var out []string
	diff := func(key string, a, b any) {
		if !reflect.DeepEqual(a, b) {
			out = append(out, key)
		}
	}
	ov, nv := reflect.ValueOf(old.SIP), reflect.ValueOf(next.SIP)
	for i := range ov.NumField() {
		diff("sip."+yamlName(ov.Type().Field(i)), ov.Field(i).Interface(), nv.Field(i).Interface())
	}
	diff("rtp.timeout", old.RTP.Timeout, next.RTP.Timeout)
	diff("rtp.latch", old.RTP.Latch, next.RTP.Latch)
	diff("rtp.max_relay_delay", old.RTP.MaxRelayDelay, next.RTP.MaxRelayDelay)
	diff("blf", old.BLF, next.BLF)
	diff("moh", old.MOH, next.MOH)
	diff("defaults", old.Defaults, next.Defaults)
	diff("lots", old.Lots, next.Lots)
	diff("ring_groups", old.RingGroups, next.RingGroups)
	return out
}

// slotPoliciesLocked is every slot's effective policy, to tell after a
// reload which ones changed. Callers hold s.mu.
func (s *Server) slotPoliciesLocked() map[*slot]Policy {
	out := make(map[*slot]Policy, len(s.bySlot))
	for _, sl := range s.bySlot {
		if !sl.retired {
			out[sl] = s.policyLocked(sl)
		}
	}
	return out
}

// yamlName is a struct field's key in the config file.
func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}
