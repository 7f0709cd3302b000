package sipcore

import (
	"net/netip"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Identity is who sent a new INVITE or SUBSCRIBE, as far as parkd can
// tell: the digest user when the request was authenticated, else the user
// a trusted PBX asserts (P-Asserted-Identity, else From), else the From
// user, which anyone can write.
type Identity struct {
	User          string
	URI           string // "sip:user@host" of the From (no port or parameters), with User as its user
	Trusted       bool   // the source is in sip.trusted
	Authenticated bool   // digest credentials for User were checked
}

// Verified reports whether the identity is more than a From header:
// asserted by a trusted source or proven by digest.
func (id Identity) Verified() bool { return id.Trusted || id.Authenticated }

// authState is the endpoint's digest authentication: the users and the
// nonces; nil when sip.auth has no users.
type authState struct {
	realm  string
	users  map[string]DigestUser
	nonces *nonces
	algs   []digestAlgorithm // offered, strongest first: only those some user has a hash for
}

// DefaultNonceLifetime is used when AuthConfig.NonceLifetime is 0.
const DefaultNonceLifetime = 5 * time.Minute

func newAuthState(cfg AuthConfig) *authState {
	if !cfg.Enabled() {
		return nil
	}
	if cfg.NonceLifetime <= 0 {
		cfg.NonceLifetime = DefaultNonceLifetime
	}
	a := &authState{realm: cfg.Realm, users: cfg.Users, nonces: newNonces(cfg.NonceLifetime)}
	if a.realm == "" {
		a.realm = "parkd"
	}
	var md5, sha bool
	for _, u := range cfg.Users {
		md5 = md5 || u.HA1MD5 != ""
		sha = sha || u.HA1SHA256 != ""
	}
	if sha {
		a.algs = append(a.algs, digestSHA256)
	}
	if md5 {
		a.algs = append(a.algs, digestMD5)
	}
	return a
}

// ha1 is the user's stored hash for alg, or "".
func (u DigestUser) ha1(alg digestAlgorithm) string {
	if alg.name == digestSHA256.name {
		return u.HA1SHA256
	}
	return u.HA1MD5
}

// algorithms are those the user has a hash for, in offering order.
func (a *authState) algorithmsOf(u DigestUser) []digestAlgorithm {
	var out []digestAlgorithm
	for _, alg := range a.algs {
		if u.ha1(alg) != "" {
			out = append(out, alg)
		}
	}
	return out
}

// trusted reports whether the request's source is in sip.trusted.
func (ep *Endpoint) trusted(req *sip.Request) bool {
	ap, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap()
	for _, p := range ep.live().Trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// identify works out who sent a new INVITE or SUBSCRIBE and, when
// sip.auth is on and the source is not trusted, demands digest
// credentials. false means it has answered the request (401, 403 or 400)
// and the caller must stop.
func (ep *Endpoint) identify(req *sip.Request, tx sip.ServerTransaction) (Identity, bool) {
	from := req.From()
	if ep.trusted(req) {
		return assertedIdentity(req), true
	}
	a := ep.live().auth
	if a == nil {
		return identityOf(from.Address, from.Address.User), true
	}
	user, ok := ep.authenticate(a, req, tx)
	if !ok {
		return Identity{}, false
	}
	id := identityOf(from.Address, user)
	id.Authenticated = true
	return id, true
}

// assertedIdentity is the identity a trusted PBX vouches for: its
// P-Asserted-Identity (RFC 3325), else the From.
func assertedIdentity(req *sip.Request) Identity {
	uri := req.From().Address
	if h := req.GetHeader("P-Asserted-Identity"); h != nil {
		var pai sip.Uri
		var params sip.HeaderParams
		if _, err := sip.ParseAddressValue(firstValue(h.Value()), &pai, &params); err == nil && pai.User != "" {
			uri = pai
		}
	}
	id := identityOf(uri, uri.User)
	id.Trusted = true
	return id
}

// firstValue is the first of comma-separated header values (a PAI may
// carry a sip: and a tel: identity).
func firstValue(v string) string {
	if vs := splitHeaderValues(v); len(vs) > 0 {
		return vs[0]
	}
	return v
}

func identityOf(uri sip.Uri, user string) Identity {
	scheme := strings.ToLower(uri.Scheme)
	if scheme == "" {
		scheme = "sip"
	}
	return Identity{User: user, URI: scheme + ":" + user + "@" + strings.ToLower(uri.Host)}
}

// authenticate checks the request's digest credentials (RFC 3261 §22.4)
// and returns the user they prove, or answers the request and returns
// false:
//   - no credentials for our realm, or a nonce parkd did not make → 401
//     with a fresh challenge per algorithm;
//   - right credentials on a nonce that expired, was replayed (nc not
//     increasing) or predates a restart → 401 with stale=true, so the
//     phone retries without asking its user;
//   - wrong credentials, or an unknown user → 403. RFC 3261 §22.4 leaves
//     the choice open; a 401 would only make phones resend the same
//     password (many loop on it), while 403 ends the attempt and tells the
//     user why. Unknown users are answered exactly like wrong passwords,
//     so the answer does not reveal which names exist.
//   - credentials that name another Request-URI, or that do not parse → 400.
func (ep *Endpoint) authenticate(a *authState, req *sip.Request, tx sip.ServerTransaction) (string, bool) {
	ip := hostOf(req.Source())
	cred, found, err := a.credentialsFor(req)
	if err != nil {
		ep.logRefused(req, "refused malformed digest credentials", "error", err.Error())
		ep.respond(tx, req, 400, "Bad Request", sip.NewHeader("Warning", `399 parkd "malformed Authorization header"`))
		return "", false
	}
	if !found {
		ep.challenge(a, tx, req, ip, a.algs, false)
		return "", false
	}
	alg, ok := digestAlgorithmNamed(cred.Algorithm)
	if !ok || !strings.EqualFold(cred.QOP, "auth") {
		// An algorithm or qop we never offered: the phone read some other
		// challenge. Offer ours again.
		ep.challenge(a, tx, req, ip, a.algs, false)
		return "", false
	}
	if !sameRequestURI(cred.URI, req.Recipient) {
		ep.logRefused(req, "refused digest credentials for another URI",
			"user", cred.Username, "digest_uri", cred.URI, "request_uri", req.Recipient.Addr())
		ep.respond(tx, req, 400, "Bad Request", sip.NewHeader("Warning", `399 parkd "the digest uri is not the Request-URI"`))
		return "", false
	}
	user, known := a.users[cred.Username]
	ha1 := user.ha1(alg)
	if known && ha1 == "" {
		// The user has no hash for this algorithm (say an htdigest MD5
		// line and a client that picked SHA-256): offer what they have.
		ep.challenge(a, tx, req, ip, a.algorithmsOf(user), false)
		return "", false
	}
	if !known {
		ha1 = strings.Repeat("0", alg.hexLen()) // same work as a known user
	}
	want := alg.response(ha1, cred.Nonce, cred.NC, cred.Cnonce, "auth", string(req.Method), cred.URI)
	if !equalHex(cred.Response, want) || !known {
		ep.logRefused(req, "digest authentication failed", "user", cred.Username)
		ep.respond(tx, req, 403, "Forbidden", sip.NewHeader("Warning", `399 parkd "wrong user name or password"`))
		return "", false
	}
	issued, verdict := a.nonces.check(cred.Nonce, ip)
	if verdict == nonceValid && !a.nonces.use(cred.Nonce, issued, cred.NCValue) {
		verdict = nonceStale
	}
	if verdict != nonceValid {
		ep.challenge(a, tx, req, ip, a.algorithmsOf(user), true)
		return "", false
	}
	return cred.Username, true
}

// credentialsFor finds the Authorization header for our realm; found is
// false when there is none (credentials for other realms are another
// server's business and ignored).
func (a *authState) credentialsFor(req *sip.Request) (cred digestCredentials, found bool, err error) {
	const maxHeaders = 4
	for i, h := range req.GetHeaders("Authorization") {
		if i == maxHeaders {
			break
		}
		c, err := parseDigestCredentials(h.Value())
		if err == errNotDigest {
			continue
		}
		if err != nil {
			return c, false, err
		}
		if c.Realm == a.realm {
			return c, true, nil
		}
	}
	return digestCredentials{}, false, nil
}

// challenge answers 401 with one WWW-Authenticate per algorithm, each
// with its own nonce.
func (ep *Endpoint) challenge(a *authState, tx sip.ServerTransaction, req *sip.Request, ip string, algs []digestAlgorithm, stale bool) {
	if len(algs) == 0 {
		algs = a.algs
	}
	hs := make([]sip.Header, 0, len(algs))
	for _, alg := range algs {
		hs = append(hs, sip.NewHeader("WWW-Authenticate", digestChallenge(a.realm, a.nonces.issue(ip), alg, stale)))
	}
	ep.log.Debug("digest challenge", "method", req.Method, "source", req.Source(), "call_id", callID(req), "stale", stale)
	ep.respond(tx, req, 401, "Unauthorized", hs...)
}

// sameRequestURI compares the digest uri directive with the Request-URI
// as SIP URIs (RFC 7616 §3.4.6 wants them to name the same resource):
// scheme, user, host and port; parameters may differ in spelling.
func sameRequestURI(digestURI string, r sip.Uri) bool {
	var u sip.Uri
	if err := sip.ParseUri(digestURI, &u); err != nil {
		return false
	}
	return strings.EqualFold(schemeOf(u), schemeOf(r)) && u.User == r.User &&
		strings.EqualFold(u.Host, r.Host) && portOf(u) == portOf(r)
}

func schemeOf(u sip.Uri) string {
	if u.Scheme == "" {
		return "sip"
	}
	return u.Scheme
}

// portOf is the URI's port with the default filled in, so that
// "sip:701@pbx" and "sip:701@pbx:5060" compare equal.
func portOf(u sip.Uri) int {
	switch {
	case u.Port != 0:
		return u.Port
	case strings.EqualFold(u.Scheme, "sips"):
		return 5061
	}
	return 5060
}
