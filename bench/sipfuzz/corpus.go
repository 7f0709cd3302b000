package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Target says what the seed corpus aims at: the daemon's address and the
// extensions of the lot the fuzzer may disturb. The canary lives in
// another lot whose extensions are never named here, so a fuzzed INVITE to
// a slot retrieves a fuzz call, never the canary.
type Target struct {
	Host      string   // the daemon's SIP IP, e.g. 127.0.0.1
	Port      int      // its SIP port
	ParkExt   string   // the fuzz lot's park extension, e.g. 700
	Slots     []string // the fuzz lot's slots, e.g. 701..720
	Retrieve  string   // its retrieve extension, e.g. *700
	SourceIPs []string // the fuzzer's own addresses, for Via and Contact
}

// seedMessage is one realistic SIP message before mutation. Its text is
// fully determined by the generator's random source and the Target, so a
// (seed, index) pair names the same bytes on every run.
type seedMessage struct {
	kind string // e.g. "INVITE park", "stray 200"
	text string
}

// seedKinds are the message families of the corpus, each a builder.
var seedKinds = []struct {
	name  string
	build func(g *gen) string
}{
	{"INVITE park", func(g *gen) string { return g.invite(g.t.ParkExt, g.sdp(), "") }},
	{"INVITE park transfer", func(g *gen) string {
		return g.invite(g.t.ParkExt, g.sdp(), "Referred-By: <sip:desk"+g.num(3)+"@"+g.host()+">\r\n")
	}},
	{"INVITE slot", func(g *gen) string { return g.invite(g.slot(), g.sdp(), "") }},
	{"INVITE retrieve", func(g *gen) string { return g.invite(g.t.Retrieve, g.sdp(), "") }},
	{"INVITE Replaces", func(g *gen) string {
		return g.invite(g.slot(), g.sdp(), "Replaces: "+g.token(16)+";to-tag="+g.token(8)+";from-tag="+g.token(8)+"\r\n")
	}},
	{"INVITE no SDP", func(g *gen) string { return g.invite(g.t.ParkExt, "", "") }},
	{"SUBSCRIBE dialog", func(g *gen) string { return g.subscribe() }},
	{"OPTIONS", func(g *gen) string { return g.request("OPTIONS", g.t.ParkExt, "Accept: application/sdp\r\n", "", "") }},
	{"REFER", func(g *gen) string {
		return g.request("REFER", g.slot(), "Refer-To: <sip:"+g.t.ParkExt+"@"+g.daemon()+">\r\nReferred-By: <sip:desk@"+g.host()+">\r\n", "", "")
	}},
	{"BYE", func(g *gen) string { return g.inDialog("BYE", "Reason: Q.850;cause=16\r\n", "", "") }},
	{"CANCEL", func(g *gen) string { return g.request("CANCEL", g.t.ParkExt, "", "", "") }},
	{"ACK", func(g *gen) string { return g.inDialog("ACK", "", "", "") }},
	{"NOTIFY", func(g *gen) string {
		return g.inDialog("NOTIFY", "Event: dialog\r\nSubscription-State: active;expires=3600\r\n", "application/dialog-info+xml", g.dialogInfo())
	}},
	{"re-INVITE", func(g *gen) string { return g.inDialog("INVITE", "", "application/sdp", g.sdp()) }},
	{"INFO", func(g *gen) string {
		return g.inDialog("INFO", "", "application/dtmf-relay", "Signal=5\r\nDuration=160\r\n")
	}},
	{"REGISTER", func(g *gen) string { return g.request("REGISTER", "", "Expires: 3600\r\n", "", "") }},
	{"stray 200 INVITE", func(g *gen) string { return g.response(200, "OK", "INVITE", "application/sdp", g.sdp()) }},
	{"stray 180", func(g *gen) string { return g.response(180, "Ringing", "INVITE", "", "") }},
	{"stray 487", func(g *gen) string { return g.response(487, "Request Terminated", "INVITE", "", "") }},
	{"stray 200 NOTIFY", func(g *gen) string { return g.response(200, "OK", "NOTIFY", "", "") }},
}

// gen builds one message from a random source.
type gen struct {
	r *rand.Rand
	t Target
	// invalidHosts puts host names under .invalid (RFC 2606: they never
	// resolve) in From, Contact and Via instead of IP addresses, to catch
	// the daemon resolving names it was never told to call.
	invalidHosts bool
	src          string // the source IP this message is sent from
}

func (g *gen) num(digits int) string {
	var b strings.Builder
	for range digits {
		b.WriteByte(byte('0' + g.r.IntN(10)))
	}
	return b.String()
}

const tokenChars = "abcdefghijklmnopqrstuvwxyz0123456789"

func (g *gen) token(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = tokenChars[g.r.IntN(len(tokenChars))]
	}
	return string(b)
}

// host is where the "phone" claims to be: its IP, or a name that must
// never be resolved.
func (g *gen) host() string {
	if g.invalidHosts {
		return "pbx-" + g.token(4) + ".fuzz.invalid"
	}
	return g.src
}

func (g *gen) daemon() string { return fmt.Sprintf("%s:%d", g.t.Host, g.t.Port) }

func (g *gen) slot() string {
	if len(g.t.Slots) == 0 {
		return g.t.ParkExt
	}
	return g.t.Slots[g.r.IntN(len(g.t.Slots))]
}

func (g *gen) via(transport string) string {
	return fmt.Sprintf("Via: SIP/2.0/%s %s:5060;rport;branch=z9hG4bK%s\r\n", transport, g.host(), g.token(12))
}

// headers are the mandatory ones of a request outside a dialog.
func (g *gen) headers(method, ruser string, cseq int) string {
	from := g.token(8)
	return g.via("UDP") +
		"Max-Forwards: 70\r\n" +
		fmt.Sprintf("From: \"Fuzz %s\" <sip:%s@%s>;tag=%s\r\n", g.num(3), g.num(7), g.host(), from) +
		fmt.Sprintf("To: <sip:%s@%s>\r\n", ruser, g.daemon()) +
		fmt.Sprintf("Call-ID: %s@%s\r\n", g.token(20), g.host()) +
		fmt.Sprintf("CSeq: %d %s\r\n", cseq, method) +
		fmt.Sprintf("Contact: <sip:fuzz@%s:5060>\r\n", g.host()) +
		"User-Agent: parkd-sipfuzz\r\n"
}

func (g *gen) request(method, ruser, extra, ctype, body string) string {
	uri := "sip:" + g.daemon()
	if ruser != "" {
		uri = "sip:" + ruser + "@" + g.daemon()
	}
	return g.finish(method+" "+uri+" SIP/2.0\r\n"+g.headers(method, ruser, 1+g.r.IntN(9999))+extra, ctype, body)
}

func (g *gen) invite(ruser, sdp, extra string) string {
	ctype := ""
	if sdp != "" {
		ctype = "application/sdp"
	}
	return g.request("INVITE", ruser, "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REFER, NOTIFY\r\n"+extra, ctype, sdp)
}

func (g *gen) subscribe() string {
	target := g.slot()
	if g.r.IntN(3) == 0 {
		target = g.t.ParkExt
	}
	expires := []string{"3600", "0", "60", "1", "4294967296"}[g.r.IntN(5)]
	return g.request("SUBSCRIBE", target, "Event: dialog\r\nAccept: application/dialog-info+xml\r\nExpires: "+expires+"\r\n", "", "")
}

// inDialog is a request with both tags, as if in a dialog the daemon
// never had (or, rarely, would have to guess).
func (g *gen) inDialog(method, extra, ctype, body string) string {
	uri := "sip:" + g.t.ParkExt + "@" + g.daemon()
	h := g.via("UDP") +
		"Max-Forwards: 70\r\n" +
		fmt.Sprintf("From: <sip:%s@%s>;tag=%s\r\n", g.num(7), g.host(), g.token(8)) +
		fmt.Sprintf("To: <sip:%s@%s>;tag=%s\r\n", g.t.ParkExt, g.daemon(), g.token(8)) +
		fmt.Sprintf("Call-ID: %s@%s\r\n", g.token(20), g.host()) +
		fmt.Sprintf("CSeq: %d %s\r\n", 2+g.r.IntN(100), method) +
		fmt.Sprintf("Contact: <sip:fuzz@%s:5060>\r\n", g.host())
	return g.finish(method+" "+uri+" SIP/2.0\r\n"+h+extra, ctype, body)
}

// response is a response to a request the daemon never sent: Via names
// the daemon, as if it were its own branch.
func (g *gen) response(code int, reason, method, ctype, body string) string {
	h := fmt.Sprintf("Via: SIP/2.0/UDP %s;branch=z9hG4bK%s\r\n", g.daemon(), g.token(12)) +
		fmt.Sprintf("From: <sip:%s@%s>;tag=%s\r\n", g.t.ParkExt, g.daemon(), g.token(8)) +
		fmt.Sprintf("To: <sip:%s@%s>;tag=%s\r\n", g.num(7), g.host(), g.token(8)) +
		fmt.Sprintf("Call-ID: %s\r\n", g.token(20)) +
		fmt.Sprintf("CSeq: %d %s\r\n", 1+g.r.IntN(50), method) +
		fmt.Sprintf("Contact: <sip:fuzz@%s:5060>\r\n", g.host())
	return g.finish(fmt.Sprintf("SIP/2.0 %d %s\r\n", code, reason)+h, ctype, body)
}

// finish adds Content-Type and a correct Content-Length; mutations break
// them later on purpose.
func (g *gen) finish(head, ctype, body string) string {
	if ctype != "" {
		head += "Content-Type: " + ctype + "\r\n"
	}
	return head + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)) + body
}

// sdp is an offer a phone would send: PCMU, PCMA, telephone-event. Its
// media address is the fuzzer's own (nothing listens on port 9, discard),
// or, with invalid hosts, a name.
func (g *gen) sdp() string {
	addr, typ := g.src, "IP4"
	if g.invalidHosts && g.r.IntN(2) == 0 {
		addr, typ = "media-"+g.token(4)+".fuzz.invalid", "IP4"
	}
	id := g.num(9)
	return "v=0\r\n" +
		"o=fuzz " + id + " " + id + " IN IP4 " + g.src + "\r\n" +
		"s=-\r\n" +
		"c=IN " + typ + " " + addr + "\r\n" +
		"t=0 0\r\n" +
		"m=audio 9 RTP/AVP 0 8 101\r\n" +
		"a=rtpmap:0 PCMU/8000\r\n" +
		"a=rtpmap:8 PCMA/8000\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\n" +
		"a=fmtp:101 0-16\r\n" +
		"a=ptime:20\r\n" +
		"a=sendrecv\r\n"
}

func (g *gen) dialogInfo() string {
	return `<?xml version="1.0"?>` + "\r\n" +
		`<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="` + g.num(2) + `" state="full" entity="sip:` + g.slot() + `@` + g.daemon() + `">` +
		`<dialog id="` + g.token(8) + `" call-id="` + g.token(12) + `" direction="recipient"><state>confirmed</state></dialog>` +
		`</dialog-info>` + "\r\n"
}
