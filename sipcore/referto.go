package sipcore

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// ParseReferTo reads a Refer-To header value (RFC 3515): a name-addr
// ("Bob" <sip:701@host?Replaces=…>;param) or an addr-spec (sip:701@host).
// Of the URI's ?headers only Replaces is used (RFC 3891 §7: an attended
// transfer); its value is URL-escaped, e.g.
// Replaces=abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2. target is the URI
// without its headers, user its user part ("" if none).
//
// The value comes from the network: anything but one sip: or sips: URI
// with a host, and a Replaces that unescapes to a clean header value, is
// an error, so that nothing read here can smuggle a header into the
// INVITE parkd may send for the transfer.
func ParseReferTo(value string) (target string, user string, replaces *Replaces, err error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return "", "", nil, errors.New("empty Refer-To")
	}
	if len(splitHeaderValues(value)) > 1 {
		return "", "", nil, errors.New("several Refer-To values: one transfer at a time")
	}
	uriText, err := referToURI(value)
	if err != nil {
		return "", "", nil, err
	}
	if i := strings.IndexFunc(uriText, func(r rune) bool { return r <= ' ' || r == 0x7f || strings.ContainsRune(`<>"`, r) }); i >= 0 {
		return "", "", nil, fmt.Errorf("Refer-To URI %q has a character a URI may not hold", uriText)
	}
	base, headers, _ := strings.Cut(uriText, "?")
	scheme, _, _ := strings.Cut(base, ":")
	if !strings.EqualFold(scheme, "sip") && !strings.EqualFold(scheme, "sips") {
		return "", "", nil, fmt.Errorf("Refer-To %q is not a sip: or sips: URI", base)
	}
	var uri sip.Uri
	if err := sip.ParseUri(base, &uri); err != nil {
		return "", "", nil, fmt.Errorf("Refer-To %q is not a SIP URI: %v", base, err)
	}
	if uri.Host == "" {
		return "", "", nil, fmt.Errorf("Refer-To %q has no host", base)
	}
	if headers != "" {
		if replaces, err = replacesOf(headers); err != nil {
			return "", "", nil, err
		}
	}
	return base, uri.User, replaces, nil
}

// referToURI is the URI of a name-addr (between < and >, after an optional
// display name) or the whole of an addr-spec.
func referToURI(value string) (string, error) {
	rest := value
	if strings.HasPrefix(rest, `"`) {
		end := closingQuote(rest)
		if end < 0 {
			return "", errors.New("Refer-To display name has no closing quote")
		}
		rest = rest[end+1:]
		if !strings.Contains(rest, "<") {
			return "", errors.New("Refer-To has a display name but no <URI>")
		}
	}
	open := strings.IndexByte(rest, '<')
	if open < 0 {
		return rest, nil
	}
	end := strings.IndexByte(rest[open:], '>')
	if end < 0 {
		return "", errors.New("Refer-To has no closing >")
	}
	after := strings.TrimSpace(rest[open+end+1:])
	if after != "" && after[0] != ';' {
		return "", fmt.Errorf("Refer-To has %q after its URI", after)
	}
	return rest[open+1 : open+end], nil
}

// closingQuote is the index of the quote that ends the quoted string s
// starts with (backslash escapes skipped), or -1.
func closingQuote(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// replacesOf finds the Replaces among a URI's ?headers (name=value&…).
func replacesOf(headers string) (*Replaces, error) {
	var found *Replaces
	for _, h := range strings.Split(headers, "&") {
		name, escaped, _ := strings.Cut(h, "=")
		if !strings.EqualFold(strings.TrimSpace(name), "Replaces") {
			continue
		}
		if found != nil {
			return nil, errors.New("Refer-To carries Replaces twice")
		}
		value, err := url.PathUnescape(escaped)
		if err != nil {
			return nil, fmt.Errorf("Refer-To's Replaces is not properly escaped: %v", err)
		}
		if strings.ContainsFunc(value, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return nil, errors.New("Refer-To's Replaces holds control characters")
		}
		r, err := parseReplaces(value)
		if err != nil {
			return nil, fmt.Errorf("Refer-To's %v", err)
		}
		found = &r
	}
	return found, nil
}

// String is the Replaces header value (RFC 3891 §6.1):
// "callid;to-tag=…;from-tag=…", with ";early-only" when set.
func (r Replaces) String() string {
	s := r.CallID + ";to-tag=" + r.ToTag + ";from-tag=" + r.FromTag
	if r.EarlyOnly {
		s += ";early-only"
	}
	return s
}
