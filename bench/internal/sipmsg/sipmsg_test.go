package sipmsg

import (
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		want    Message
		wantErr bool
	}{
		{
			name: "200 to an INVITE",
			in: "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\n" +
				"To: <sip:700@x>;tag=abc;x=y\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
			want: Message{Status: 200, Method: "INVITE", CallID: "c1", CSeq: 1, ToTag: "abc"},
		},
		{
			name: "parkd's BYE, compact headers",
			in:   "BYE sip:a@127.0.0.1:5070 SIP/2.0\r\nv: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\r\ni: c2\r\nCSeq: 7 BYE\r\nt: <sip:a@x>;tag=1\r\n\r\n",
			want: Message{Request: true, Method: "BYE", URI: "sip:a@127.0.0.1:5070", CallID: "c2", CSeq: 7, ToTag: "1"},
		},
		{
			name: "an INVITE to the retrieve extension",
			in:   "INVITE sip:*700@127.0.0.1:5060 SIP/2.0\r\nCall-ID: c4\r\nCSeq: 1 INVITE\r\nTo: <sip:*700@127.0.0.1:5060>\r\n\r\n",
			want: Message{Request: true, Method: "INVITE", URI: "sip:*700@127.0.0.1:5060", CallID: "c4", CSeq: 1},
		},
		{name: "not SIP", in: "GET / HTTP/1.1\r\n\r\n", wantErr: true},
		{name: "no Request-URI", in: "BYE SIP/2.0\r\nCall-ID: c\r\nCSeq: 1 BYE\r\n\r\n", wantErr: true},
		{name: "no Call-ID", in: "SIP/2.0 100 Trying\r\nCSeq: 1 INVITE\r\n\r\n", wantErr: true},
		{name: "garbage status", in: "SIP/2.0 2x0 OK\r\nCall-ID: c\r\nCSeq: 1 BYE\r\n\r\n", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if got.Request != tc.want.Request || got.Method != tc.want.Method || got.URI != tc.want.URI ||
				got.Status != tc.want.Status || got.CallID != tc.want.CallID || got.CSeq != tc.want.CSeq || got.ToTag != tc.want.ToTag {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestHeaderValue(t *testing.T) {
	for line, want := range map[string]string{
		"From: <sip:a@x>;tag=1":   "<sip:a@x>;tag=1",
		"t:<sip:700@p>":           "<sip:700@p>",
		"To:   <sip:b@y>  ":       "<sip:b@y>",
		"no colon, no value":      "",
		"Via: SIP/2.0/UDP h:5060": "SIP/2.0/UDP h:5060",
	} {
		if got := HeaderValue([]byte(line)); got != want {
			t.Errorf("HeaderValue(%q) = %q, want %q", line, got, want)
		}
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
			ip, port, ok := SDPAudio([]byte(tc.sdp))
			if ok != tc.ok || (ok && (ip != tc.ip || port != tc.port)) {
				t.Errorf("SDPAudio = %q %d %v, want %q %d %v", ip, port, ok, tc.ip, tc.port, tc.ok)
			}
		})
	}
}

// The floor reads whatever reaches its SIP socket: Parse must refuse what
// it cannot read, never panic, and give a message it accepts the fields
// routing needs.
func FuzzParse(f *testing.F) {
	f.Add([]byte("INVITE sip:700@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:700@h>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\nv=0\r\n"))
	f.Add([]byte("SIP/2.0 200 OK\r\nt: <sip:a@x>;tag=abc\r\ni: c\r\nCSeq: 2 BYE\r\n\r\n"))
	f.Add([]byte("SIP/2.0 2"))
	f.Add([]byte("\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		if m.CallID == "" || m.CSeq == 0 || (m.Request && m.Method == "") {
			t.Errorf("accepted without what routing needs: %+v", m)
		}
		SDPAudio(Body(b))
		for _, l := range m.From {
			HeaderValue(l)
		}
	})
}
