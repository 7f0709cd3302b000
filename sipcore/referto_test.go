package sipcore

import (
	"strings"
	"testing"
)

// referToSeeds are Refer-To values as phones send them, plus broken ones.
var referToSeeds = []string{
	// blind transfers
	`<sip:701@127.0.0.1:5060>`,                        // Yealink
	`<sip:701@10.0.0.1;user=phone>`,                   // Polycom
	`sip:701@10.0.0.1`,                                // Grandstream, addr-spec
	`"Park" <sip:700@10.0.0.1:5060;transport=udp>`,    // with a display name
	`Park <sip:700@10.0.0.1>`,                         // unquoted display name
	`<sips:701@10.0.0.1:5061;transport=tls>`,          // sips
	`<sip:701@pbx.example.com>;method=INVITE`,         // header parameter after the URI
	`<SIP:701@10.0.0.1>`,                              // scheme in capitals
	`"Q \"uoted\" <x>" <sip:701@10.0.0.1>`,            // escaped quotes and brackets in the name
	`<sip:bob@sip.linphone.org;gr=urn:uuid:6f2a3e1c>`, // Linphone GRUU
	// attended transfers
	`<sip:1002@10.0.0.1:5060?Replaces=0_1234567%4010.0.0.8%3Bto-tag%3D7b8c%3Bfrom-tag%3D1234>`,         // Yealink
	`<sip:1002@10.0.0.5;user=phone?Replaces=3a0c1f2e-5d6b%4010.0.0.7%3Bto-tag%3Dabc%3Bfrom-tag%3Ddef>`, // Polycom
	`"Bob" <sip:bob@10.0.0.2?Replaces=abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2>`,                         // Linphone
	`<sip:701@10.0.0.1?Replaces=abc%3bto-tag%3d1%3bfrom-tag%3d2>`,                                      // Snom, lower-case escapes
	`<sip:701@10.0.0.1?Replaces=abc%3Bto-tag%3D1%3Bfrom-tag%3D2%3Bearly-only>`,                         // early-only
	`<sip:701@10.0.0.1?Replaces=abc%40h%3Bto-tag%3D1%3Bfrom-tag%3D2&Referred-By=%3Csip%3Aa%40b%3E>`,    // more headers
	`<sip:701@10.0.0.1?Require=replaces&Replaces=abc%3Bfrom-tag%3D2%3Bto-tag%3D1>`,                     // tags swapped in order
	`<sips:701@10.0.0.1?Replaces=abc@h;to-tag=1;from-tag=2>`,                                           // unescaped
	`<sip:701@10.0.0.1?Replaces=a%0D%0AVia%3A%20x%3Bto-tag%3D1%3Bfrom-tag%3D2>`,                        // a line break
	`<sip:701@10.0.0.1?Replaces=abc%ZZ>`,                                                               // broken escaping
	`<sip:701@10.0.0.1?Replaces=a%3Bto-tag%3D1%3Bfrom-tag%3D2&Replaces=b%3Bto-tag%3D1%3Bfrom-tag%3D2>`, // twice
	`<tel:+15551234>`, `<http://example.com/>`, `<sip:@>`, `<>`, ``, `<sip:701@10.0.0.1`, `"Bob <sip:701@h>`, // broken
	`<sip:701@10.0.0.1>, <sip:702@10.0.0.1>`, `<sip:701@10.0.0.1> junk`, "<sip:701@10.0.0.1\r\nX: y>",
}

func TestParseReferTo(t *testing.T) {
	for _, tc := range []struct {
		value    string
		target   string
		user     string
		replaces *Replaces
		err      string
	}{
		{value: `<sip:701@127.0.0.1:5060>`, target: "sip:701@127.0.0.1:5060", user: "701"},
		{value: ` sip:701@10.0.0.1 `, target: "sip:701@10.0.0.1", user: "701"},
		{value: `"Park" <sip:700@10.0.0.1;user=phone>;x=y`, target: "sip:700@10.0.0.1;user=phone", user: "700"},
		{value: `"a <b>" <sips:701@10.0.0.1:5061>`, target: "sips:701@10.0.0.1:5061", user: "701"},
		{value: `<sip:10.0.0.1>`, target: "sip:10.0.0.1"},
		{
			value:    `"Bob" <sip:bob@10.0.0.2?Replaces=abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2>`,
			target:   "sip:bob@10.0.0.2",
			user:     "bob",
			replaces: &Replaces{CallID: "abc@host", ToTag: "1", FromTag: "2"},
		},
		{
			value:    `<sip:701@10.0.0.1?Require=replaces&replaces=abc%3bfrom-tag%3d2%3bto-tag%3d1%3bearly-only>`,
			target:   "sip:701@10.0.0.1",
			user:     "701",
			replaces: &Replaces{CallID: "abc", ToTag: "1", FromTag: "2", EarlyOnly: true},
		},
		{value: ``, err: "empty"},
		{value: `<sip:701@h>, <sip:702@h>`, err: "several Refer-To values"},
		{value: `<tel:+15551234>`, err: "not a sip: or sips: URI"},
		{value: `urn:service:sos`, err: "not a sip: or sips: URI"},
		{value: `<sip:701@10.0.0.1`, err: "no closing >"},
		{value: `"Bob <sip:701@h>`, err: "no closing quote"},
		{value: `"Bob" sip:701@h`, err: "no <URI>"},
		{value: `<sip:701@h> junk`, err: "after its URI"},
		{value: `<sip:7 01@h>`, err: "character a URI may not hold"},
		{value: `<sip:701@h?Replaces=abc%ZZ>`, err: "not properly escaped"},
		{value: `<sip:701@h?Replaces=abc%3Bto-tag%3D1>`, err: "needs a call-id, to-tag and from-tag"},
		{value: `<sip:701@h?Replaces=a%0D%0AX%3Bto-tag%3D1%3Bfrom-tag%3D2>`, err: "control characters"},
		{value: `<sip:701@h?Replaces=a%3Bto-tag%3D1%3Bfrom-tag%3D2&Replaces=a%3Bto-tag%3D1%3Bfrom-tag%3D2>`, err: "Replaces twice"},
	} {
		target, user, replaces, err := ParseReferTo(tc.value)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseReferTo(%q) error %v, want one with %q", tc.value, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseReferTo(%q): %v", tc.value, err)
			continue
		}
		if target != tc.target || user != tc.user {
			t.Errorf("ParseReferTo(%q) = %q, %q; want %q, %q", tc.value, target, user, tc.target, tc.user)
		}
		if (replaces == nil) != (tc.replaces == nil) || replaces != nil && *replaces != *tc.replaces {
			t.Errorf("ParseReferTo(%q) Replaces %+v, want %+v", tc.value, replaces, tc.replaces)
		}
	}
}

func TestReplacesString(t *testing.T) {
	for _, r := range []Replaces{
		{CallID: "abc@host", ToTag: "1", FromTag: "2"},
		{CallID: "x", ToTag: "t", FromTag: "f", EarlyOnly: true},
	} {
		back, err := parseReplaces(r.String())
		if err != nil || back != r {
			t.Errorf("%q parsed back as %+v, %v; want %+v", r.String(), back, err, r)
		}
	}
	if got := (Replaces{CallID: "a@b", ToTag: "1", FromTag: "2"}).String(); got != "a@b;to-tag=1;from-tag=2" {
		t.Errorf("String() = %q", got)
	}
}

// FuzzParseReferTo: no Refer-To value panics the parser, and what it
// accepts is a clean target and a Replaces that survives String and
// parseReplaces unchanged (parkd sends it on in an INVITE).
func FuzzParseReferTo(f *testing.F) {
	for _, s := range referToSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		target, user, replaces, err := ParseReferTo(value)
		if err != nil {
			return
		}
		if target == "" || strings.ContainsAny(target, "?<>\" \r\n") {
			t.Fatalf("ParseReferTo(%q): target %q", value, target)
		}
		if user != "" && !strings.Contains(target, user) {
			t.Fatalf("ParseReferTo(%q): user %q not in target %q", value, user, target)
		}
		if replaces == nil {
			return
		}
		s := replaces.String()
		if hasHeaderBreak(s) {
			t.Fatalf("ParseReferTo(%q): Replaces %q would break the header", value, s)
		}
		back, err := parseReplaces(s)
		if err != nil || back != *replaces {
			t.Fatalf("ParseReferTo(%q): Replaces %+v printed as %q parses back as %+v, %v", value, *replaces, s, back, err)
		}
	})
}
