package sipcore

import "time"

// TCPLimits bound what SIP over TCP may cost (sip.tcp in the config).
// Zero values take the DefaultTCP… constants.
type TCPLimits struct {
	MaxConnections int           // open connections in all
	MaxPerSource   int           // open connections from one IP
	IdleTimeout    time.Duration // a connection with no dialog or subscription is closed after this long silent; NoIdleTimeout: never
	MessageTimeout time.Duration // a message must arrive whole within this long of its first byte
}

// RateLimit is a token bucket per source IP (sip.rate_limit). PerSecond 0
// turns it off.
type RateLimit struct {
	PerSecond float64
	Burst     int
}

// DigestUser is one user digest authentication accepts; only the HA1
// hashes (H(name:realm:password)) are known, hex-encoded. Either may be "".
type DigestUser struct {
	Name      string
	HA1MD5    string
	HA1SHA256 string
}

// AuthConfig turns on digest authentication (RFC 3261 §22, RFC 8760) of
// INVITE and SUBSCRIBE from sources outside Config.Trusted. It is off when
// Users is empty.
type AuthConfig struct {
	Realm         string
	Users         map[string]DigestUser // by name
	NonceLifetime time.Duration
}

// Enabled reports whether any user is configured.
func (a AuthConfig) Enabled() bool { return len(a.Users) > 0 }
