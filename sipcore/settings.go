package sipcore

import (
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/parkd/parkd/sipcore/media"
)

// Settings are the parts of Config a reload may change while calls go on.
// Listeners, the RTP range and TCP limits are bound once and need a restart.
type Settings struct {
	Allow []netip.Prefix // sources that may use parkd; empty refuses every source
	// Trusted are the PBXs' networks: no digest challenge, full BLF detail.
	Trusted []netip.Prefix
	// Auth challenges INVITE and SUBSCRIBE from untrusted sources.
	Auth AuthConfig
	// RateLimit sheds floods per source; MaxTransactions caps the server
	// transactions alive at once (0 = no cap).
	RateLimit       RateLimit
	MaxTransactions int
	// MaxPendingInvites is how many new INVITEs may be in progress
	// (received, not yet answered) before more get 503 with Retry-After;
	// 0 takes DefaultMaxPendingInvites (overload.go).
	MaxPendingInvites int
	// MaxInviteWait is how long a new INVITE may wait between its read
	// and its handler before it gets 503 with Retry-After instead;
	// 0 takes DefaultMaxInviteWait (invite_arrivals.go).
	MaxInviteWait time.Duration
	// Subscriptions bounds SUBSCRIBE dialogs; zero values take defaults.
	// On Reconfigure, OnFanout is kept from the endpoint's Config.
	Subscriptions SubscriptionConfig
	// A call with no RTP for RTPTimeout is hung up (0 disables); RTPLatch
	// says whose RTP its session accepts. Both apply to calls answered
	// from then on.
	RTPTimeout time.Duration
	RTPLatch   media.Latch
}

// settings is what every request reads through one atomic load, so a
// reload never shows a request half of the old values and half of the new.
type settings struct {
	Settings
	auth    *authState   // nil: sip.auth is off
	limiter *rateLimiter // nil: sip.rate_limit is off
}

func (ep *Endpoint) live() *settings { return ep.current.Load() }

// Reconfigure applies new settings at once to every request from now on.
// Dialogs, subscriptions and calls in progress are kept; subscriptions
// keep the expiry they were granted. Outstanding digest challenges stay
// valid while auth stays on, and a source's rate-limit bucket survives
// an unchanged rate.
func (ep *Endpoint) Reconfigure(s Settings) {
	old := ep.live()
	s.Subscriptions.OnFanout = ep.cfg.Subscriptions.OnFanout
	s.Subscriptions.setDefaults()
	next := &settings{Settings: s, auth: newAuthState(s.Auth), limiter: newRateLimiter(s.RateLimit)}
	if old != nil {
		if next.auth != nil && old.auth != nil && old.auth.nonces.lifetime == next.auth.nonces.lifetime {
			next.auth.nonces = old.auth.nonces
		}
		if old.RateLimit == s.RateLimit {
			next.limiter = old.limiter
		}
	}
	if len(s.Allow) == 0 {
		ep.log.Warn("sip.allow is empty: every SIP request will be refused with 403")
	}
	ep.current.Store(next)
	if old != nil && !sameSettings(old.Settings, s) {
		ep.log.Info("SIP settings changed", "allow", len(s.Allow), "trusted", len(s.Trusted),
			"auth_users", len(s.Auth.Users), "rate_limit_per_source", s.RateLimit.PerSecond,
			"max_transactions", s.MaxTransactions)
	}
}

func sameSettings(a, b Settings) bool {
	sa, sb := a.Subscriptions, b.Subscriptions
	return slices.Equal(a.Allow, b.Allow) && slices.Equal(a.Trusted, b.Trusted) &&
		a.Auth.Realm == b.Auth.Realm && a.Auth.NonceLifetime == b.Auth.NonceLifetime && maps.Equal(a.Auth.Users, b.Auth.Users) &&
		a.RateLimit == b.RateLimit && a.MaxTransactions == b.MaxTransactions && a.MaxPendingInvites == b.MaxPendingInvites && a.MaxInviteWait == b.MaxInviteWait &&
		sa.MinExpires == sb.MinExpires && sa.MaxExpires == sb.MaxExpires && sa.DefaultExpires == sb.DefaultExpires &&
		sa.MaxPerSource == sb.MaxPerSource && sa.MaxTotal == sb.MaxTotal && sa.NotifyTimeout == sb.NotifyTimeout && a.RTPTimeout == b.RTPTimeout && a.RTPLatch == b.RTPLatch
}
