package sipcore

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"

	"github.com/icholy/digest"
)

// The pure arithmetic and syntax of HTTP digest as SIP uses it (RFC 3261
// §22.4, RFC 8760 for SHA-256, RFC 7616 for the qop=auth response).
// Nothing here knows about requests, nonces or users.

// digestAlgorithm is one hash digest authentication can run on.
type digestAlgorithm struct {
	name string // as written in the algorithm parameter
	new  func() hash.Hash
}

// The algorithms parkd offers, strongest first: RFC 8760 §2.4 has a UAC
// use the first challenge it supports, so SHA-256 clients pick it and
// MD5-only phones skip to the second WWW-Authenticate.
var (
	digestSHA256 = digestAlgorithm{"SHA-256", sha256.New}
	digestMD5    = digestAlgorithm{"MD5", md5.New}
)

// digestAlgorithmNamed finds an algorithm by its parameter value; an
// absent parameter means MD5 (RFC 2617 §3.2.2).
func digestAlgorithmNamed(name string) (digestAlgorithm, bool) {
	switch strings.ToUpper(name) {
	case "", "MD5":
		return digestMD5, true
	case "SHA-256":
		return digestSHA256, true
	}
	return digestAlgorithm{}, false
}

// hexLen is the length of this algorithm's hashes in hex.
func (a digestAlgorithm) hexLen() int { return 2 * a.new().Size() }

// hash is H(parts joined by ":"), hex-encoded in lower case.
func (a digestAlgorithm) hash(parts ...string) string {
	h := a.new()
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{':'})
		}
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// HA1 is H(user:realm:password): what the config stores instead of a
// password (Apache htdigest writes the MD5 one).
func (a digestAlgorithm) HA1(user, realm, password string) string {
	return a.hash(user, realm, password)
}

// response is the request-digest for qop=auth (RFC 7616 §3.4.1):
// KD(HA1, nonce:nc:cnonce:qop:H(method:uri)).
func (a digestAlgorithm) response(ha1, nonce, nc, cnonce, qop, method, uri string) string {
	return a.hash(ha1, nonce, nc, cnonce, qop, a.hash(method, uri))
}

// equalHex compares two hex digests in time independent of where they
// differ, ignoring the case of the hex digits.
func equalHex(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(strings.ToLower(got)), []byte(want)) == 1
}

// Bounds on what a client may make parkd parse: a real Authorization
// header is under 500 bytes with 10 parameters.
const (
	maxAuthorizationLen    = 2048
	maxAuthorizationParams = 20
	maxAuthorizationValue  = 512 // any one parameter's value
)

// digestCredentials is a parsed Authorization header (RFC 3261 §25.1
// credentials, digest scheme).
type digestCredentials struct {
	Username, Realm, Nonce, URI, Response, Algorithm, Cnonce, QOP, Opaque string
	NC                                                                    string // 8 lower-case hex digits, as sent: the response hashes this text
	NCValue                                                               uint32
}

var errNotDigest = errors.New("not digest credentials")

// parseDigestCredentials reads an Authorization header value. It checks
// the size and shape of every directive before icholy/digest parses the
// values, so that no input costs more than a few kilobytes; it rejects
// repeated directives (RFC 7616 §3.4: each appears at most once), which
// the library would silently let the last one win.
func parseDigestCredentials(value string) (digestCredentials, error) {
	if len(value) > maxAuthorizationLen {
		return digestCredentials{}, fmt.Errorf("authorization header longer than %d bytes", maxAuthorizationLen)
	}
	rest, ok := digest.CutPrefix(strings.TrimLeft(value, " \t"))
	if !ok {
		return digestCredentials{}, errNotDigest
	}
	if err := checkDirectives(rest); err != nil {
		return digestCredentials{}, err
	}
	c, err := digest.ParseCredentials(digest.Prefix + rest)
	if err != nil {
		return digestCredentials{}, errors.New("malformed digest credentials")
	}
	out := digestCredentials{
		Username: c.Username, Realm: c.Realm, Nonce: c.Nonce, URI: c.URI, Response: c.Response,
		Algorithm: c.Algorithm, Cnonce: c.Cnonce, QOP: c.QOP, Opaque: c.Opaque,
	}
	if c.Nc != 0 || c.QOP != "" {
		// The library keeps nc as a number; the response hashes the
		// text, which RFC 7616 fixes as 8 lower-case hex digits.
		if c.Nc <= 0 {
			return digestCredentials{}, errors.New("nc must be a positive count")
		}
		out.NCValue = uint32(c.Nc)
		out.NC = fmt.Sprintf("%08x", out.NCValue)
	}
	if out.Username == "" || out.Realm == "" || out.Nonce == "" || out.URI == "" || out.Response == "" {
		return digestCredentials{}, errors.New("digest credentials need username, realm, nonce, uri and response")
	}
	return out, nil
}

// checkDirectives walks "k=v, k="v", …" without parsing values: at most
// maxAuthorizationParams directives, none repeated, none too long.
func checkDirectives(s string) error {
	seen := make(map[string]bool, 12)
	quoted, escaped, start := false, false, 0
	check := func(item string) error {
		k, v, _ := strings.Cut(item, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if len(v) > maxAuthorizationValue+2 {
			return fmt.Errorf("digest directive %.20q is longer than %d bytes", k, maxAuthorizationValue)
		}
		if seen[k] {
			return fmt.Errorf("digest directive %.20q appears twice", k)
		}
		if len(seen) >= maxAuthorizationParams {
			return fmt.Errorf("more than %d digest directives", maxAuthorizationParams)
		}
		seen[k] = true
		return nil
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case escaped:
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			if err := check(s[start:i]); err != nil {
				return err
			}
			start = i + 1
		}
	}
	if strings.TrimSpace(s[start:]) == "" {
		return nil
	}
	return check(s[start:])
}

// digestChallenge is the value of one WWW-Authenticate header.
func digestChallenge(realm, nonce string, alg digestAlgorithm, stale bool) string {
	c := digest.Challenge{Realm: realm, Nonce: nonce, Algorithm: alg.name, QOP: []string{"auth"}, Stale: stale}
	return c.String()
}
