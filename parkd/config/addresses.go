package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Network addresses and SIP URIs: listen URIs, allow lists, hosts.

// ListenURIs parses sip.listen.
func (c Config) ListenURIs() ([]ListenAddr, error) {
	out := make([]ListenAddr, 0, len(c.SIP.Listen))
	for i, u := range c.SIP.Listen {
		la, err := parseListen(u)
		if err != nil {
			return nil, &ConfigError{Key: fmt.Sprintf("sip.listen[%d]", i), Msg: err.Error()}
		}
		out = append(out, la)
	}
	return out, nil
}

func parseListen(s string) (ListenAddr, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return ListenAddr{}, fmt.Errorf(`%q is not a URI like "udp://127.0.0.1:5060"`, s)
	}
	network := strings.ToLower(scheme)
	if network != "udp" && network != "tcp" {
		return ListenAddr{}, fmt.Errorf("scheme %q is not supported in %q (use udp:// or tcp://)", scheme, s)
	}
	host, port, err := splitListenHostPort(strings.TrimSuffix(rest, "/"))
	if err != nil {
		return ListenAddr{}, err
	}
	return ListenAddr{Network: network, Addr: net.JoinHostPort(host, strconv.Itoa(port))}, nil
}

// splitListenHostPort reads a listening host:port. An empty host means
// every interface; port 0 picks a free port (tests use it).
func splitListenHostPort(s string) (host string, port int, err error) {
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, fmt.Errorf("%q is not host:port", s)
	}
	port, err = parsePort(p, 0)
	if err != nil {
		return "", 0, fmt.Errorf("%q: %v", s, err)
	}
	if host != "" {
		if err := checkHost(host); err != nil {
			return "", 0, err
		}
	}
	return host, port, nil
}

func parsePort(p string, lowest int) (int, error) {
	n, err := strconv.Atoi(p)
	if !isDigits(p) || len(p) > 5 || err != nil || n < lowest || n > 65535 {
		return 0, fmt.Errorf("port %q is not a number in %d-65535", p, lowest)
	}
	return n, nil
}

// AllowNets parses sip.allow. A bare IP is a single-address prefix; host
// bits are masked off ("10.1.2.3/8" is 10.0.0.0/8).
func (c Config) AllowNets() ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(c.SIP.Allow))
	for i, a := range c.SIP.Allow {
		p, err := parseAllow(a)
		if err != nil {
			return nil, &ConfigError{Key: fmt.Sprintf("sip.allow[%d]", i), Msg: err.Error()}
		}
		out = append(out, p)
	}
	return out, nil
}

func parseAllow(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a network like 10.0.0.0/8 or an IP address", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not a network like 10.0.0.0/8 or an IP address", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// checkHost accepts an IP address or a DNS host name (no port, no
// brackets). A name whose last label is numeric is a mistyped IP.
func checkHost(h string) error {
	if _, err := netip.ParseAddr(h); err == nil {
		return nil
	}
	bad := fmt.Errorf("%q is not an IP address or host name", h)
	name := strings.TrimSuffix(h, ".")
	if name == "" || len(name) > 253 {
		return bad
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' ||
			strings.IndexFunc(l, func(r rune) bool { return !(r < utf8.RuneSelf && (isAlnum(byte(r)) || r == '-' || r == '_')) }) >= 0 {
			return bad
		}
	}
	if isDigits(labels[len(labels)-1]) {
		return bad
	}
	return nil
}

// checkHostOptionalPort accepts host, host:port, [v6] or [v6]:port, as in
// the host part of a SIP URI.
func checkHostOptionalPort(s string) error {
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return fmt.Errorf("%q has an unclosed [", s)
		}
		host, port = s[1:end], s[end+1:]
		if a, err := netip.ParseAddr(host); err != nil || !a.Is6() {
			return fmt.Errorf("%q is not an IPv6 address", host)
		}
		if port != "" {
			if !strings.HasPrefix(port, ":") {
				return fmt.Errorf("%q: unexpected text after ]", s)
			}
			_, err := parsePort(port[1:], 1)
			return err
		}
		return nil
	}
	if strings.Count(s, ":") == 1 {
		host, port, _ = strings.Cut(s, ":")
		if _, err := parsePort(port, 1); err != nil {
			return err
		}
	}
	return checkHost(host)
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// CheckSIPURI accepts sip:[user@]host[:port][;params][?headers] and the
// same with sips:, checking the host part. It is a sanity check for typos,
// not a full RFC 3261 parser.
func CheckSIPURI(s string) error {
	rest, ok := cutPrefixFold(s, "sip:")
	if !ok {
		rest, ok = cutPrefixFold(s, "sips:")
	}
	if !ok {
		return fmt.Errorf("%q is not a sip: or sips: URI", s)
	}
	if strings.ContainsAny(s, " <>\"") || CheckText(s) != nil {
		return fmt.Errorf("%q: a SIP URI has no spaces, quotes, <> or control characters", s)
	}
	rest, _, _ = strings.Cut(rest, "?")
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		if at == 0 {
			return fmt.Errorf("%q has an empty user part", s)
		}
		rest = rest[at+1:]
	}
	hostport, _, _ := strings.Cut(rest, ";")
	if err := checkHostOptionalPort(hostport); err != nil {
		return fmt.Errorf("%q: %v", s, err)
	}
	return nil
}

// checkProxy accepts a SIP URI or host[:port].
func checkProxy(s string) error {
	if _, ok := cutPrefixFold(s, "sip:"); ok {
		return CheckSIPURI(s)
	}
	if _, ok := cutPrefixFold(s, "sips:"); ok {
		return CheckSIPURI(s)
	}
	if err := checkHostOptionalPort(s); err != nil {
		return fmt.Errorf("must be a sip: URI or host[:port]: %v", err)
	}
	return nil
}
