package main

import (
	"strings"
	"testing"
)

func TestParseMessage(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		want    message
		wantErr bool
	}{
		{
			name: "200 to an INVITE",
			in: "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\n" +
				"To: <sip:700@x>;tag=abc;x=y\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
			want: message{status: 200, method: "INVITE", callID: "c1", cseq: 1, toTag: "abc"},
		},
		{
			name: "parkd's BYE, compact headers",
			in:   "BYE sip:a@127.0.0.1:5070 SIP/2.0\r\nv: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\r\ni: c2\r\nCSeq: 7 BYE\r\nt: <sip:a@x>;tag=1\r\n\r\n",
			want: message{request: true, method: "BYE", callID: "c2", cseq: 7, toTag: "1"},
		},
		{name: "not SIP", in: "GET / HTTP/1.1\r\n\r\n", wantErr: true},
		{name: "no Call-ID", in: "SIP/2.0 100 Trying\r\nCSeq: 1 INVITE\r\n\r\n", wantErr: true},
		{name: "garbage status", in: "SIP/2.0 2x0 OK\r\nCall-ID: c\r\nCSeq: 1 BYE\r\n\r\n", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseMessage([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if got.request != tc.want.request || got.method != tc.want.method || got.status != tc.want.status ||
				got.callID != tc.want.callID || got.cseq != tc.want.cseq || got.toTag != tc.want.toTag {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestOKResponseCopiesTheRequestsHeaders(t *testing.T) {
	req := "BYE sip:a@127.0.0.1:5070 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\r\nFrom: <sip:700@p>;tag=p1\r\n" +
		"To: <sip:a@x>;tag=a1\r\nCall-ID: c3\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n"
	m, err := parseMessage([]byte(req))
	if err != nil {
		t.Fatal(err)
	}
	res := string(okResponse(m))
	for _, want := range []string{"SIP/2.0 200 OK\r\n", "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\r\n",
		"From: <sip:700@p>;tag=p1\r\n", "To: <sip:a@x>;tag=a1\r\n", "Call-ID: c3\r\n", "CSeq: 2 BYE\r\n", "\r\n\r\n"} {
		if !strings.Contains(res, want) {
			t.Errorf("response lacks %q:\n%s", want, res)
		}
	}
	if back, err := parseMessage([]byte(res)); err != nil || back.status != 200 || back.method != "BYE" {
		t.Errorf("the response does not parse back as a 200 to BYE: %+v %v", back, err)
	}
}

func TestSDPAudio(t *testing.T) {
	cases := []struct {
		name, sdp string
		ip        string
		port      int
		ok        bool
	}{
		{"parkd's answer", "v=0\r\no=parkd 1 1 IN IP4 127.0.0.1\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 20002 RTP/AVP 0 101\r\n", "127.0.0.1", 20002, true},
		{"no media", "v=0\r\nc=IN IP4 127.0.0.1\r\n", "", 0, false},
		{"bad port", "c=IN IP4 127.0.0.1\nm=audio x RTP/AVP 0\n", "", 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ip, port, ok := sdpAudio([]byte(tc.sdp))
			if ok != tc.ok || (ok && (ip != tc.ip || port != tc.port)) {
				t.Errorf("sdpAudio = %q %d %v, want %q %d %v", ip, port, ok, tc.ip, tc.port, tc.ok)
			}
		})
	}
}
