package sipcore

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

func TestAssertedIdentity(t *testing.T) {
	for _, tc := range []struct {
		name, pai string
		want      Identity
	}{
		{"From when no PAI", "", Identity{User: "201", URI: "sip:201@pbx.example.com", Trusted: true}},
		{"PAI wins", `"Reception" <sip:100@Corp.Example.com>, <tel:+15551234>`, Identity{User: "100", URI: "sip:100@corp.example.com", Trusted: true}},
		{"a PAI without a user is ignored", "<sip:corp.example.com>", Identity{User: "201", URI: "sip:201@pbx.example.com", Trusted: true}},
		{"garbage PAI is ignored", "<<<", Identity{User: "201", URI: "sip:201@pbx.example.com", Trusted: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "701", Host: "parkd"})
			from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "201", Host: "pbx.example.com", Port: 5060}}
			from.Params.Add("tag", "x")
			req.AppendHeader(from)
			if tc.pai != "" {
				req.AppendHeader(sip.NewHeader("P-Asserted-Identity", tc.pai))
			}
			if got := assertedIdentity(req); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestSameRequestURI(t *testing.T) {
	r := sip.Uri{Scheme: "sip", User: "701", Host: "10.0.0.5", Port: 5060}
	for _, tc := range []struct {
		digestURI string
		want      bool
	}{
		{"sip:701@10.0.0.5:5060", true},
		{"sip:701@10.0.0.5", true}, // 5060 is the default port
		{"sip:701@10.0.0.5:5060;transport=udp", true},
		{"SIP:701@10.0.0.5:5060", true},
		{"sip:702@10.0.0.5:5060", false},
		{"sip:10.0.0.5:5060", false}, // sipp's default: no user
		{"sip:701@10.0.0.6:5060", false},
		{"sip:701@10.0.0.5:5070", false},
		{"sips:701@10.0.0.5:5060", false},
		{"not a uri", false},
	} {
		if got := sameRequestURI(tc.digestURI, r); got != tc.want {
			t.Errorf("%q against %s: got %v, want %v", tc.digestURI, r.String(), got, tc.want)
		}
	}
}
