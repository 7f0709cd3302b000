package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Validation of a decoded config: every problem, one per key, in the
// order of the file. The lots are checked in validate_lots.go.

// maxProblems stops a hopeless file from producing thousands of errors.
const maxProblems = 100

// checker collects problems, one per key, in the order checked.
type checker struct {
	errs []*ConfigError
	keys map[string]bool
}

func (ck *checker) add(key, format string, args ...any) {
	if len(ck.errs) >= maxProblems || ck.keys[key] {
		return
	}
	if ck.keys == nil {
		ck.keys = map[string]bool{}
	}
	ck.keys[key] = true
	ck.errs = append(ck.errs, &ConfigError{Key: key, Msg: fmt.Sprintf(format, args...)})
}

// addErr records err under key unless it is nil.
func (ck *checker) addErr(key string, err error) {
	if err != nil {
		ck.add(key, "%v", err)
	}
}

func (ck *checker) addPolicy(errs []*PolicyError) {
	for _, e := range errs {
		ck.add(e.Key, "%s", e.Msg)
	}
}

// Validate checks everything and returns the first problem as a
// *ConfigError, nil if there is none.
func (c Config) Validate() error {
	if errs := c.Problems(); len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// Problems returns every problem found (up to 100), in file order as far
// as practical: sip, rtp, api, blf, data, moh, defaults, lots.
func (c Config) Problems() []*ConfigError {
	ck := &checker{}
	c.checkSIP(ck)
	c.checkRTP(ck)
	c.checkAPI(ck)
	c.checkBLF(ck)
	c.checkPaths(ck)
	ck.addPolicy(c.Defaults.problems("defaults", 0))
	checkComplete(ck, "defaults", c.Defaults, c.Defaults.Over(BuiltinPolicy()))
	c.checkLots(ck)
	c.checkRingGroups(ck)
	return ck.errs
}

func (c Config) checkSIP(ck *checker) {
	if len(c.SIP.Listen) == 0 {
		ck.add("sip.listen", `at least one URI is required, like "udp://127.0.0.1:5060"`)
	}
	seen := map[ListenAddr]int{}
	for i, u := range c.SIP.Listen {
		key := fmt.Sprintf("sip.listen[%d]", i)
		la, err := parseListen(u)
		if err != nil {
			ck.addErr(key, err)
			continue
		}
		if j, dup := seen[la]; dup && !strings.HasSuffix(la.Addr, ":0") {
			ck.add(key, "same address as sip.listen[%d]", j)
		}
		seen[la] = i
	}
	for i, a := range c.SIP.Allow {
		_, err := parseAllow(a)
		ck.addErr(fmt.Sprintf("sip.allow[%d]", i), err)
	}
	if c.SIP.Advertise != "" {
		ck.addErr("sip.advertise", checkHost(c.SIP.Advertise))
	}
	if c.SIP.OutboundProxy != "" {
		ck.addErr("sip.outbound_proxy", checkProxy(c.SIP.OutboundProxy))
	}
	for i, h := range c.SIP.ParkerHeaders {
		ck.addErr(fmt.Sprintf("sip.parker_headers[%d]", i), checkHeaderName(h))
	}
	ck.addErr("sip.recall_alert_info", CheckText(c.SIP.RecallAlertInfo))
	c.checkAuth(ck)
	c.checkLimits(ck)
}

// checkHeaderName accepts a SIP header name (an RFC 3261 token).
func checkHeaderName(h string) error {
	if h == "" {
		return errors.New(`must be a header name, like "Diversion"`)
	}
	for _, r := range h {
		if !(r < 0x7f && (isAlnum(byte(r)) || strings.ContainsRune("-.!%*_+`'~", r))) {
			return fmt.Errorf("%q is not a SIP header name (letters, digits and -.!%%*_+`'~)", h)
		}
	}
	return nil
}

func (c Config) checkRTP(ck *checker) {
	if _, err := netip.ParseAddr(c.RTP.Address); err != nil {
		ck.add("rtp.address", "%q is not an IP address", c.RTP.Address)
	}
	_, _, err := parsePortRange(c.RTP.Ports)
	ck.addErr("rtp.ports", err)
	checkEnum(ck.add, "rtp.latch", &c.RTP.Latch, latchValues)
	switch t := c.RTP.Timeout.D(); {
	case t < 0:
		ck.add("rtp.timeout", "must not be negative (got %s)", c.RTP.Timeout)
	case t > 0 && t < minRTPTimeout:
		ck.add("rtp.timeout", "must be 0 (off) or at least %s (got %s)", Duration(minRTPTimeout), c.RTP.Timeout)
	}
	if d := c.RTP.MaxRelayDelay.D(); d != 0 && (d < minRelayDelay || d > maxRelayDelay) {
		ck.add("rtp.max_relay_delay", "must be 0 (relay every packet) or between %s and %s (got %s)",
			Duration(minRelayDelay), Duration(maxRelayDelay), c.RTP.MaxRelayDelay)
	}
}

func (c Config) checkAPI(ck *checker) {
	if (c.API.TLS.Cert == "") != (c.API.TLS.Key == "") {
		ck.add("api.tls", "needs both cert and key (PEM files), or neither")
	}
	if c.API.Listen == "" {
		return // API disabled
	}
	_, _, err := splitListenHostPort(c.API.Listen)
	ck.addErr("api.listen", err)
}

// checkRingGroups: each named group is a non-empty list of SIP URIs.
func (c Config) checkRingGroups(ck *checker) {
	for name, uris := range c.RingGroups {
		key := mapKey("ring_groups", name)
		if !lotNameRE.MatchString(name) {
			ck.add(key, "group names must be 1–64 of a-z, 0-9, _ and - (got %q)", name)
		}
		if len(uris) == 0 {
			ck.add(key, "lists no SIP URI")
		}
		for i, u := range uris {
			ck.addErr(fmt.Sprintf("%s[%d]", key, i), CheckSIPURI(u))
		}
	}
}

func (c Config) checkPaths(ck *checker) {
	if c.Data == "" {
		ck.add("data", "must name a directory")
	}
	ck.addErr("data", CheckText(c.Data))
	if c.MOH == "" {
		ck.add("moh", `must be "builtin" or a WAV file path`)
	}
	ck.addErr("moh", CheckText(c.MOH)) // the file itself is opened by the daemon
}

// checkComplete checks what only the merged policy can tell: on_failure:
// forward needs a forward_to from some layer. It looks only when this
// layer touches either key, so an inherited problem is reported once, at
// the layer that caused it.
func checkComplete(ck *checker, path string, layer, merged Policy) {
	for _, e := range merged.Incomplete(path, layer) {
		ck.add(e.Key, "%s", e.Msg)
	}
}

// CheckText refuses what would corrupt a log line or a SIP header.
func CheckText(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("must be valid UTF-8")
	}
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' }) >= 0 {
		return errors.New("must not contain control characters or line breaks")
	}
	return nil
}
