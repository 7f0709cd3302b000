package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TCPLimits is `sip.tcp:`: what one SIP TCP connection, and all of them
// together, may cost parkd.
type TCPLimits struct {
	MaxConnections int      `yaml:"max_connections" json:"max_connections"` // open connections in all; more are closed at accept
	MaxPerSource   int      `yaml:"max_per_source" json:"max_per_source"`   // open connections from one IP
	IdleTimeout    Duration `yaml:"idle_timeout" json:"idle_timeout"`       // a connection carrying no dialog or subscription is closed after this long silent
	MessageTimeout Duration `yaml:"message_timeout" json:"message_timeout"` // a message must arrive whole within this long of its first byte
}

// RateLimit is `sip.rate_limit:`: a token bucket per source IP.
type RateLimit struct {
	PerSource Rate `yaml:"per_source" json:"per_source"` // "200/s"; "0" turns the limit off
	Burst     int  `yaml:"burst" json:"burst"`           // requests a source may send at once
}

// Rate is a count per unit of time, written "200/s", "600/m" or a bare
// number meaning per second.
type Rate string

// PerSecond is the rate in events per second; Rate is checked by Validate.
func (r Rate) PerSecond() float64 {
	n, per, _ := r.parse()
	if per <= 0 {
		return 0
	}
	return n / per.Seconds()
}

func (r Rate) parse() (float64, time.Duration, error) {
	s := strings.TrimSpace(string(r))
	num, unit, hasUnit := strings.Cut(s, "/")
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || n < 0 || n > 1e9 {
		return 0, 0, fmt.Errorf(`%q is not a rate like "200/s"`, string(r))
	}
	per := time.Second
	if hasUnit {
		switch strings.TrimSpace(unit) {
		case "s":
		case "m":
			per = time.Minute
		case "h":
			per = time.Hour
		default:
			return 0, 0, fmt.Errorf(`%q: the unit after / must be s, m or h, as in "200/s"`, string(r))
		}
	}
	return n, per, nil
}

// Defaults of the SIP limits (issue 11).
const (
	DefaultTCPMaxConnections  = 10000
	DefaultTCPMaxPerSource    = 200
	DefaultTCPIdleTimeout     = 5 * time.Minute
	DefaultTCPMessageTimeout  = 10 * time.Second
	DefaultRatePerSource      = Rate("200/s")
	DefaultRateBurst          = 400
	DefaultMaxTransactions    = 10000
	DefaultMaxPendingInvites  = 200
	maxPendingInvitesAllowed  = 1 << 20
	maxTCPConnectionsAllowed  = 1 << 20
	minTCPMessageTimeout      = time.Second
	maxTransactionsAllowed    = 1 << 22
	minTCPIdleTimeout         = 10 * time.Second
	maxRateBurstAllowed       = 1 << 20
	maxTCPMessageTimeoutLimit = 10 * time.Minute
)

// DefaultTCPLimits are the sip.tcp values of a fresh start.
func DefaultTCPLimits() TCPLimits {
	return TCPLimits{
		MaxConnections: DefaultTCPMaxConnections,
		MaxPerSource:   DefaultTCPMaxPerSource,
		IdleTimeout:    Duration(DefaultTCPIdleTimeout),
		MessageTimeout: Duration(DefaultTCPMessageTimeout),
	}
}

// DefaultRateLimit is the sip.rate_limit of a fresh start.
func DefaultRateLimit() RateLimit {
	return RateLimit{PerSource: DefaultRatePerSource, Burst: DefaultRateBurst}
}

func (c Config) checkLimits(ck *checker) {
	t := c.SIP.TCP
	if t.MaxConnections < 1 || t.MaxConnections > maxTCPConnectionsAllowed {
		ck.add("sip.tcp.max_connections", "must be between 1 and %d (got %d)", maxTCPConnectionsAllowed, t.MaxConnections)
	}
	if t.MaxPerSource < 1 || t.MaxPerSource > t.MaxConnections {
		ck.add("sip.tcp.max_per_source", "must be between 1 and sip.tcp.max_connections (%d) (got %d)", t.MaxConnections, t.MaxPerSource)
	}
	if d := t.IdleTimeout.D(); d != 0 && d < minTCPIdleTimeout {
		ck.add("sip.tcp.idle_timeout", "must be 0 (never) or at least %s (got %s)", Duration(minTCPIdleTimeout), t.IdleTimeout)
	}
	if d := t.MessageTimeout.D(); d < minTCPMessageTimeout || d > maxTCPMessageTimeoutLimit {
		ck.add("sip.tcp.message_timeout", "must be between %s and %s (got %s)", Duration(minTCPMessageTimeout), Duration(maxTCPMessageTimeoutLimit), t.MessageTimeout)
	}
	r := c.SIP.RateLimit
	if _, _, err := r.PerSource.parse(); err != nil {
		ck.addErr("sip.rate_limit.per_source", err)
	} else if r.PerSource.PerSecond() > 0 && (r.Burst < 1 || r.Burst > maxRateBurstAllowed) {
		ck.add("sip.rate_limit.burst", "must be between 1 and %d (got %d)", maxRateBurstAllowed, r.Burst)
	}
	if c.SIP.MaxTransactions < 1 || c.SIP.MaxTransactions > maxTransactionsAllowed {
		ck.add("sip.max_transactions", "must be between 1 and %d (got %d)", maxTransactionsAllowed, c.SIP.MaxTransactions)
	}
	if c.SIP.MaxPendingInvites < 1 || c.SIP.MaxPendingInvites > maxPendingInvitesAllowed {
		ck.add("sip.max_pending_invites", "must be between 1 and %d (got %d)", maxPendingInvitesAllowed, c.SIP.MaxPendingInvites)
	}
}
