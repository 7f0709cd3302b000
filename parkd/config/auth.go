package config

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"path"
	"strings"
	"time"
)

// AuthConfig is `sip.auth:`: digest authentication (RFC 3261 §22, RFC 8760)
// of INVITE and SUBSCRIBE from sources outside sip.trusted. It is on when
// any user is configured, inline or in users_file.
type AuthConfig struct {
	Realm string     `yaml:"realm" json:"realm"` // "" = "parkd"
	Users []AuthUser `yaml:"users,omitempty" json:"users,omitempty"`
	// UsersFile holds more users, one "name:realm:ha1" per line (Apache
	// htdigest's format; a 64-digit ha1 is SHA-256).
	UsersFile     string   `yaml:"users_file" json:"users_file,omitempty"`
	NonceLifetime Duration `yaml:"nonce_lifetime" json:"nonce_lifetime"` // a nonce older than this is answered stale=true
}

// AuthUser is one entry of sip.auth.users. Only hashes are stored, never a
// password: HA1 = H(name:realm:password).
type AuthUser struct {
	Name      string `yaml:"name" json:"name"`
	HA1       string `yaml:"ha1" json:"ha1,omitempty"`               // MD5, 32 hex digits
	HA1SHA256 string `yaml:"ha1_sha256" json:"ha1_sha256,omitempty"` // SHA-256, 64 hex digits
}

// Defaults of sip.auth.
const (
	DefaultAuthRealm          = "parkd"
	DefaultNonceLifetime      = 5 * time.Minute
	minNonceLifetime          = 10 * time.Second
	maxNonceLifetime          = 24 * time.Hour
	maxRetrieveAllowPatterns  = 1000
	maxAuthUsersInConfigLimit = 100000
)

// DefaultAuth is sip.auth on a fresh start: no users, so off.
func DefaultAuth() AuthConfig {
	return AuthConfig{Realm: DefaultAuthRealm, NonceLifetime: Duration(DefaultNonceLifetime)}
}

// TrustedNets parses sip.trusted like sip.allow.
func (c Config) TrustedNets() ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(c.SIP.Trusted))
	for i, a := range c.SIP.Trusted {
		p, err := parseAllow(a)
		if err != nil {
			return nil, &ConfigError{Key: fmt.Sprintf("sip.trusted[%d]", i), Msg: err.Error()}
		}
		out = append(out, p)
	}
	return out, nil
}

func (c Config) checkAuth(ck *checker) {
	for i, a := range c.SIP.Trusted {
		_, err := parseAllow(a)
		ck.addErr(fmt.Sprintf("sip.trusted[%d]", i), err)
	}
	a := c.SIP.Auth
	if strings.ContainsAny(a.Realm, "\":\r\n\\") {
		ck.add("sip.auth.realm", `must not contain quotes, colons, backslashes or line breaks (got %q)`, a.Realm)
	}
	if d := a.NonceLifetime.D(); d < minNonceLifetime || d > maxNonceLifetime {
		ck.add("sip.auth.nonce_lifetime", "must be between %s and %s (got %s)", Duration(minNonceLifetime), Duration(maxNonceLifetime), a.NonceLifetime)
	}
	if len(a.Users) > maxAuthUsersInConfigLimit {
		ck.add("sip.auth.users", "at most %d users (got %d); use users_file", maxAuthUsersInConfigLimit, len(a.Users))
	}
	seen := map[string]int{}
	for i, u := range a.Users {
		key := fmt.Sprintf("sip.auth.users[%d]", i)
		if u.Name == "" || strings.ContainsAny(u.Name, "\":\r\n\\") {
			ck.add(key+".name", "must be a user name without quotes, colons or line breaks (got %q)", u.Name)
		}
		if j, dup := seen[u.Name]; dup {
			ck.add(key+".name", "%q is already sip.auth.users[%d]", u.Name, j)
		}
		seen[u.Name] = i
		if u.HA1 == "" && u.HA1SHA256 == "" {
			ck.add(key, "needs ha1 (MD5 of name:realm:password) or ha1_sha256, or both")
		}
		if u.HA1 != "" && !isHex(u.HA1, 32) {
			ck.add(key+".ha1", "must be 32 hex digits, MD5(name:realm:password)")
		}
		if u.HA1SHA256 != "" && !isHex(u.HA1SHA256, 64) {
			ck.add(key+".ha1_sha256", "must be 64 hex digits, SHA-256(name:realm:password)")
		}
	}
}

func (l LotConfig) checkRetrieveAllow(ck *checker, key string) {
	if len(l.RetrieveAllow) > maxRetrieveAllowPatterns {
		ck.add(key+".retrieve_allow", "at most %d entries (got %d)", maxRetrieveAllowPatterns, len(l.RetrieveAllow))
	}
	for i, p := range l.RetrieveAllow {
		ck.addErr(fmt.Sprintf("%s.retrieve_allow[%d]", key, i), checkRetrievePattern(p))
	}
}

// checkRetrievePattern accepts a user name ("201", "alice") or a SIP URI
// pattern with path.Match wildcards ("sip:2*@pbx.example.com").
func checkRetrievePattern(p string) error {
	if p == "" || strings.ContainsAny(p, " \t\r\n\"") {
		return fmt.Errorf(`%q is not a user name or a URI pattern like "sip:2*@pbx.example.com"`, p)
	}
	if _, err := path.Match(p, ""); err != nil {
		return fmt.Errorf("%q: bad wildcard pattern: %v", p, err)
	}
	return nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
