package sipcore

import (
	"strings"
	"testing"
)

// What the socket-level reader takes from a response's bytes, and what it
// leaves to sipgo.
func TestNotifyAnswerParts(t *testing.T) {
	cases := []struct {
		name, msg string
		status    int
		branch    string
	}{
		{"200", "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.5:5060;rport=5060;branch=z9hG4bK.pn00000000000000ff\r\nCSeq: 1 NOTIFY\r\n\r\n", 200, "z9hG4bK.pn00000000000000ff"},
		{"compact, spaced, second param", "SIP/2.0 481 Gone\r\nv : SIP/2.0/UDP h;received=1.2.3.4; BRANCH = b1 ;x\r\n\r\n", 481, "b1"},
		{"several in one line: the top one", "SIP/2.0 100 Trying\r\nVia: SIP/2.0/UDP a;branch=top, SIP/2.0/UDP b;branch=next\r\n\r\n", 100, "top"},
		{"first Via only", "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a\r\nVia: SIP/2.0/UDP b;branch=second\r\n\r\n", 200, ""},
		{"no Via", "SIP/2.0 200 OK\r\nCSeq: 1 NOTIFY\r\n\r\nVia: x;branch=body\r\n", 200, ""},
		{"not a status line", "NOTIFY sip:a SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=b\r\n\r\n", 0, "b"},
		{"bad code", "SIP/2.0 2x0 OK\r\n\r\n", 0, ""},
		{"code out of range", "SIP/2.0 900 OK\r\n\r\n", 0, ""},
		{"truncated", "SIP/2.0 20", 0, ""},
	}
	for _, tc := range cases {
		status, _ := responseStatus([]byte(tc.msg))
		if status != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, status, tc.status)
		}
		if got := string(topViaBranch([]byte(tc.msg))); got != tc.branch {
			t.Errorf("%s: branch %q, want %q", tc.name, got, tc.branch)
		}
	}
}

// The read loop takes the branch of every 200 in a fan-out without
// allocating.
func TestTopViaBranchDoesNotAllocate(t *testing.T) {
	msg := []byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.5:5060;rport=5060;received=10.0.0.5;branch=z9hG4bK.pn00000000000000ff\r\nFrom: <sip:a@b>;tag=1\r\nCSeq: 1 NOTIFY\r\n\r\n")
	if n := testing.AllocsPerRun(100, func() { topViaBranch(msg) }); n != 0 {
		t.Errorf("%v allocations per response, want 0", n)
	}
}

// topViaBranch reads what a plain split of the header lines reads, on any
// bytes.
func FuzzTopViaBranch(f *testing.F) {
	f.Add("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=b\r\n\r\n")
	f.Add("SIP/2.0 200 OK\r\nv : SIP/2.0/UDP h; BRANCH = b1 ;x, SIP/2.0/UDP c\r\n\r\nVia: x;branch=body")
	f.Add("SIP/2.0 200 OK\r\nX: y\r\nvia:;;branch;branch=\r\n")
	f.Fuzz(func(t *testing.T, msg string) {
		got, want := topViaBranch([]byte(msg)), splitViaBranch(msg)
		if string(got) != want {
			t.Errorf("topViaBranch(%q) = %q, want %q", msg, got, want)
		}
	})
}

// splitViaBranch is topViaBranch written the obvious way: the headers cut
// at the blank line, split into lines and parameters.
func splitViaBranch(msg string) string {
	head, _, _ := strings.Cut(msg, "\r\n\r\n")
	lines := strings.Split(head, "\r\n")[1:]
	for _, line := range lines {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		name = strings.TrimSpace(name)
		if !strings.EqualFold(name, "via") && !strings.EqualFold(name, "v") {
			continue
		}
		value, _, _ = strings.Cut(value, ",")
		for _, param := range strings.Split(value, ";")[1:] {
			k, v, _ := strings.Cut(param, "=")
			if strings.EqualFold(strings.TrimSpace(k), "branch") {
				return strings.TrimSpace(v)
			}
		}
		return ""
	}
	return ""
}
