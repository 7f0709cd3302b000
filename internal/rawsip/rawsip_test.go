package rawsip

import (
	"hash/maphash"
	"strings"
	"testing"
)

const notify = "NOTIFY sip:bench@127.0.0.1:5000 SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-1\r\n" +
	"Max-Forwards: 70\r\n" +
	"f: <sip:701@127.0.0.1>;tag=a\r\n" +
	"To: <sip:bench@127.0.0.1>;tag=b\r\n" +
	"Call-ID: c1@bench\r\n" +
	"CSeq: 2 NOTIFY\r\n" +
	"Content-Length: 4\r\n\r\nbody"

func TestAppendOKCopiesTheHeadersAnAnswerNeeds(t *testing.T) {
	want := "SIP/2.0 200 OK\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-1\r\n" +
		"f: <sip:701@127.0.0.1>;tag=a\r\n" +
		"To: <sip:bench@127.0.0.1>;tag=b\r\n" +
		"Call-ID: c1@bench\r\n" +
		"CSeq: 2 NOTIFY\r\n" +
		"Content-Length: 0\r\n\r\n"
	if got := string(AppendOK(nil, []byte(notify))); got != want {
		t.Errorf("AppendOK:\n%q\nwant\n%q", got, want)
	}
}

func TestAppendResponseStatusTagAndBody(t *testing.T) {
	cases := []struct {
		name, req                    string
		status                       int
		reason, toTag, headers, body string
		want                         []string
	}{
		{"a new request's To is tagged", strings.Replace(notify, ";tag=b", "", 1), 486, "Busy Here", "x2", "", "",
			[]string{"SIP/2.0 486 Busy Here\r\n", "To: <sip:bench@127.0.0.1>;tag=x2\r\n"}},
		{"a refusal in a dialog keeps its To tag", notify, 480, "Temporarily Unavailable", "x1", "", "",
			[]string{"SIP/2.0 480 Temporarily Unavailable\r\n", "To: <sip:bench@127.0.0.1>;tag=b\r\n", "Content-Length: 0\r\n\r\n"}},
		{"an answer with a body", notify, 200, "OK", "", "Content-Type: application/sdp\r\n", "v=0\r\n",
			[]string{"SIP/2.0 200 OK\r\n", "To: <sip:bench@127.0.0.1>;tag=b\r\n", "Content-Type: application/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := string(AppendResponse(nil, []byte(tc.req), tc.status, tc.reason, tc.toTag, tc.headers, tc.body))
			for _, want := range tc.want {
				if !strings.Contains(got, want) {
					t.Errorf("response lacks %q:\n%s", want, got)
				}
			}
			if strings.Count(got, ";tag=x1") != 0 {
				t.Errorf("a second To tag:\n%s", got)
			}
			if !strings.HasSuffix(got, "\r\n\r\n"+tc.body) {
				t.Errorf("response does not end with its body:\n%q", got)
			}
		})
	}
}

func TestHasTag(t *testing.T) {
	for line, want := range map[string]bool{
		"To: <sip:bench@127.0.0.1>;tag=b":       true,
		"t: <sip:bench@127.0.0.1> ; TAG = b":    true,
		"To: <sip:bench@127.0.0.1>":             false,
		"To: <sip:bench@127.0.0.1;tag=inuri>":   false,
		"To: <sip:b@h>;tagged=1":                false,
		"To: sip:bench@127.0.0.1;tag=addr-spec": true,
		"To: \"a;tag=x\" <sip:bench@127.0.0.1>": false,
	} {
		if got := hasTag([]byte(line)); got != want {
			t.Errorf("hasTag(%q) = %v, want %v", line, got, want)
		}
	}
}

func TestTransactionTellsRetransmissionsFromNewRequests(t *testing.T) {
	seed := maphash.MakeSeed()
	tests := []struct {
		name string
		req  string
		same bool
	}{
		{"the same request again", notify, true},
		{"another body", notify[:len(notify)-4] + "else", true},
		{"the next CSeq", strings.Replace(notify, "CSeq: 2", "CSeq: 3", 1), false},
		{"another Call-ID", strings.Replace(notify, "c1@bench", "c2@bench", 1), false},
	}
	first := Transaction(seed, []byte(notify))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Transaction(seed, []byte(tt.req)) == first; got != tt.same {
				t.Errorf("same transaction = %v, want %v", got, tt.same)
			}
		})
	}
}

func TestAnsweringDoesNotAllocate(t *testing.T) {
	seed := maphash.MakeSeed()
	req := []byte(notify)
	buf := make([]byte, 0, 512)
	allocs := testing.AllocsPerRun(100, func() {
		buf = AppendOK(buf[:0], req)
		Transaction(seed, req)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per answer, want 0", allocs)
	}
}
