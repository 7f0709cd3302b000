package sipcore

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

func subscribeWith(headers ...[2]string) *sip.Request {
	req := sip.NewRequest(sip.SUBSCRIBE, sip.Uri{Scheme: "sip", User: "701", Host: "127.0.0.1"})
	for _, h := range headers {
		req.AppendHeader(sip.NewHeader(h[0], h[1]))
	}
	return req
}

func TestParseEvent(t *testing.T) {
	cases := []struct {
		header       [][2]string
		pkg, header2 string
	}{
		{[][2]string{{"Event", "dialog"}}, "dialog", "dialog"},
		{[][2]string{{"Event", "Dialog ; id=42"}}, "dialog", "dialog;id=42"},
		{[][2]string{{"Event", "dialog;sla;id=7;x=y"}}, "dialog", "dialog;id=7"},
		{[][2]string{{"Event", "presence"}}, "presence", "presence"},
		{[][2]string{{"o", "presence"}}, "presence", "presence"},
		{nil, "", ""},
	}
	for _, tc := range cases {
		pkg, hdr := parseEvent(subscribeWith(tc.header...))
		if pkg != tc.pkg || hdr != tc.header2 {
			t.Errorf("Event %v: got %q %q, want %q %q", tc.header, pkg, hdr, tc.pkg, tc.header2)
		}
	}
}

func TestAccepts(t *testing.T) {
	const di = "application/dialog-info+xml"
	cases := []struct {
		accept []string
		want   bool
	}{
		{nil, true},
		{[]string{di}, true},
		{[]string{"application/dialog-info+xml, multipart/related, application/rlmi+xml"}, true},
		{[]string{"multipart/related", "Application/Dialog-Info+XML;q=0.5"}, true},
		{[]string{"*/*"}, true},
		{[]string{"application/*"}, true},
		{[]string{"application/pidf+xml"}, false},
		{[]string{"application/xpidf+xml, text/plain"}, false},
	}
	for _, tc := range cases {
		var hs [][2]string
		for _, a := range tc.accept {
			hs = append(hs, [2]string{"Accept", a})
		}
		if got := accepts(subscribeWith(hs...), di); got != tc.want {
			t.Errorf("Accept %q: got %v, want %v", tc.accept, got, tc.want)
		}
	}
}
