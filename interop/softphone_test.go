package interop

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parkd/parkd/sipcore/siptest"
)

// TestBaresipParks: a real softphone (baresip) dials the park extension 700
// and is answered; parkd's music reaches it (baresip reports incoming RTP);
// the API shows it parked in 701, the lot's first slot, under the Call-ID
// baresip chose. It hangs up and 701 is free again.
func TestBaresipParks(t *testing.T) {
	requireBaresip(t)
	d := startDaemon(t)
	sp := startSoftphone(t, "softphone")

	sp.do("dial sip:700@" + d.sipAddr())
	// Answered, and music on hold arrives (maybe before baresip reports
	// the call established: parkd plays from the 200 on).
	call := sp.waitEvents(10*time.Second, "CALL_ESTABLISHED", "CALL_RTPESTAB")["CALL_ESTABLISHED"]
	d.waitSlot(t, "701", 5*time.Second, "parked by the softphone", parkedBy(call.ID))

	sp.do("hangup")
	sp.waitEvent("CALL_CLOSED", 5*time.Second)
	d.waitSlot(t, "701", 5*time.Second, "free after the softphone hung up", slotFree)
}

// TestBaresipReferReparks: Alice (a siptest phone) is parked in 701 by
// Bob's transfer (Referred-By). The softphone dials 701 and parkd bridges it
// to Alice, who hears its microphone (a 440 Hz tone) instead of music.
// Then the softphone does a blind transfer to 700 (baresip's
// transfer command sends REFER to its peer, parkd): parkd answers 202, sends
// the sipfrag NOTIFYs (100 Trying, then 200 OK), parks Alice again in 701
// and hangs up the softphone's leg, which baresip reports closed. Alice
// stays on the line throughout.
func TestBaresipReferReparks(t *testing.T) {
	requireBaresip(t)
	d := startDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alice := siptest.NewPhone(t, "alice", siptest.WithDisplay("Alice"))
	bob := siptest.NewPhone(t, "bob")
	parked, err := alice.Dial(ctx, "sip:700@"+d.sipAddr(), siptest.CallOptions{Headers: [][2]string{{"Referred-By", "<" + bob.URI() + ">"}}})
	if err != nil || parked.Status() != 200 {
		t.Fatalf("parking Alice: %v\n%s", err, d.logTail(40))
	}
	d.waitSlot(t, "701", 5*time.Second, "parked by Alice", parkedBy(parked.CallID()))
	if share, moh := heardTone(t, parked); share > 0.3 || moh.Voiced == 0 {
		t.Fatalf("parked, Alice hears %.2f of 440 Hz and %s of sound; want music on hold", share, moh.Voiced)
	}

	sp := startSoftphone(t, "softphone")
	sp.do("dial sip:701@" + d.sipAddr())
	bridged := sp.waitEvent("CALL_ESTABLISHED", 10*time.Second)
	d.waitSlot(t, "701", 5*time.Second, "emptied by the retrieve", func(s apiSlot) bool { return !parkedBy(parked.CallID())(s) })
	time.Sleep(100 * time.Millisecond) // the last music in flight
	if share, _ := heardTone(t, parked); share < 0.3 {
		t.Fatalf("bridged to the softphone, Alice hears only %.2f of its 440 Hz tone\n%s", share, d.logTail(40))
	}

	sp.do("transfer sip:700@" + d.sipAddr())
	closed := sp.waitEvent("CALL_CLOSED", 10*time.Second)
	if closed.ID != bridged.ID {
		t.Fatalf("baresip closed call %s, not its bridged call %s", closed.ID, bridged.ID)
	}
	d.waitSlot(t, "701", 5*time.Second, "parked by Alice again", parkedBy(parked.CallID()))
	if parked.HungUp() {
		t.Fatal("Alice was hung up instead of re-parked")
	}

	checkReferOnTheWire(t, sp, bridged.ID, "sip:700@"+d.sipAddr())
	if share, moh := heardTone(t, parked); share > 0.3 || moh.Voiced == 0 {
		t.Errorf("re-parked, Alice hears %.2f of the softphone's 440 Hz and %s of sound; want music on hold again", share, moh.Voiced)
	}

	if bye, err := parked.Hangup(ctx); err != nil || bye.StatusCode != 200 {
		t.Fatalf("Alice's BYE: %v %v\n%s", bye, err, d.logTail(40))
	}
	d.waitSlot(t, "701", 5*time.Second, "free after Alice hung up", slotFree)
}

// checkReferOnTheWire reads the softphone's SIP trace of the call: its
// REFER, parkd's 202, the NOTIFYs with their sipfrag bodies (100 Trying
// first, a final 200 OK that terminates the subscription), and a BYE that
// ended the call. baresip 1.0.0 sends its own BYE as soon as the final
// NOTIFY reports success, so it crosses parkd's: either one ends the call.
func checkReferOnTheWire(t *testing.T, sp *softphone, callID, referTo string) {
	t.Helper()
	// baresip reports the call closed before its trace of the last
	// messages reaches the log: read it until it is complete, or give up.
	deadline := time.Now().Add(3 * time.Second)
	problems := referProblems(sp.sipTrace(), callID, referTo)
	for len(problems) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		problems = referProblems(sp.sipTrace(), callID, referTo)
	}
	if len(problems) > 0 {
		t.Errorf("in baresip's SIP trace of call %s:\n%s\n%s", callID, strings.Join(problems, "\n"), sp.logTail(200))
	}
}

// referProblems lists what the trace of a REFER'd call lacks.
func referProblems(trace []sipTraceMsg, callID, referTo string) []string {
	var refer, accepted, bye bool
	var frags, problems []string
	terminated := false
	for _, m := range trace {
		if m.header("Call-ID") != callID {
			continue
		}
		switch {
		case m.sent && strings.HasPrefix(m.first, "REFER "):
			refer = strings.Trim(m.header("Refer-To"), "<>") == referTo
		case !m.sent && strings.HasPrefix(m.first, "SIP/2.0 202 ") && strings.HasSuffix(m.header("CSeq"), " REFER"):
			accepted = true
		case !m.sent && strings.HasPrefix(m.first, "NOTIFY "):
			if m.header("Event") != "refer" || !strings.HasPrefix(m.header("Content-Type"), "message/sipfrag") {
				problems = append(problems, fmt.Sprintf("a NOTIFY is not a refer sipfrag: Event %q, Content-Type %q", m.header("Event"), m.header("Content-Type")))
			}
			frags = append(frags, m.body)
			terminated = strings.HasPrefix(m.header("Subscription-State"), "terminated")
		case strings.HasPrefix(m.first, "BYE "):
			bye = true
		}
	}
	if !refer {
		problems = append(problems, "no REFER to "+referTo+" sent")
	}
	if !accepted {
		problems = append(problems, "no 202 to the REFER")
	}
	if len(frags) < 2 || frags[0] != "SIP/2.0 100 Trying" || frags[len(frags)-1] != "SIP/2.0 200 OK" || !terminated {
		problems = append(problems, fmt.Sprintf("sipfrag NOTIFYs %q (last terminated: %v), want \"SIP/2.0 100 Trying\" first and a final \"SIP/2.0 200 OK\" that terminates the subscription", frags, terminated))
	}
	if !bye {
		problems = append(problems, "no BYE ended the call")
	}
	return problems
}

// TestBaresipAttendedPark: an attended park made by hand, since baresip
// 1.0.0 has no attended-transfer command. Alice is parked in 701; the
// softphone dials 701 (bridged to Alice: its line 1), holds that call and
// dials 700 (the consultation call, line 2), which parkd answers and parks
// in 701, now free again. Back on line 1 the softphone transfers with a
// Refer-To whose Replaces names the consultation call: parkd puts Alice in
// the consultation call's slot and hangs up both of the softphone's calls.
func TestBaresipAttendedPark(t *testing.T) {
	requireBaresip(t)
	d := startDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alice := siptest.NewPhone(t, "alice", siptest.WithDisplay("Alice"))
	parked, err := alice.Dial(ctx, "sip:700@"+d.sipAddr(), siptest.CallOptions{})
	if err != nil || parked.Status() != 200 {
		t.Fatalf("parking Alice: %v\n%s", err, d.logTail(40))
	}
	d.waitSlot(t, "701", 5*time.Second, "parked by Alice", parkedBy(parked.CallID()))

	sp := startSoftphone(t, "softphone")
	sp.do("dial sip:701@" + d.sipAddr())
	bridged := sp.waitEvent("CALL_ESTABLISHED", 10*time.Second)
	d.waitSlot(t, "701", 5*time.Second, "emptied by the retrieve", slotFree)
	time.Sleep(100 * time.Millisecond) // the last music in flight
	if share, _ := heardTone(t, parked); share < 0.3 {
		t.Fatalf("bridged to the softphone, Alice hears only %.2f of its 440 Hz tone\n%s", share, d.logTail(40))
	}
	sp.do("hold")
	sp.do("dial sip:700@" + d.sipAddr())
	consult := sp.waitEvent("CALL_ESTABLISHED", 10*time.Second)
	d.waitSlot(t, "701", 5*time.Second, "taken by the consultation call", func(s apiSlot) bool {
		return s.Call != nil && s.Call.CallID == consult.ID
	})

	local, remote := sp.dialogTags(t, consult.ID)
	replaces := consult.ID + ";to-tag=" + remote + ";from-tag=" + local
	referTo := "sip:700@" + d.sipAddr() + "?Replaces=" + url.QueryEscape(replaces)
	sp.do("line 1")
	sp.do("transfer <" + referTo + ">")
	sp.waitClosed(t, 10*time.Second, bridged.ID, consult.ID)
	d.waitSlot(t, "701", 5*time.Second, "parked by Alice again", parkedBy(parked.CallID()))
	if parked.HungUp() {
		t.Fatal("Alice was hung up instead of parked")
	}
	checkReferOnTheWire(t, sp, bridged.ID, referTo)
	if share, moh := heardTone(t, parked); share > 0.3 || moh.Voiced == 0 {
		t.Errorf("parked by the attended transfer, Alice hears %.2f of the softphone's 440 Hz and %s of sound; want music on hold", share, moh.Voiced)
	}

	if bye, err := parked.Hangup(ctx); err != nil || bye.StatusCode != 200 {
		t.Fatalf("Alice's BYE: %v %v\n%s", bye, err, d.logTail(40))
	}
	d.waitSlot(t, "701", 5*time.Second, "free after Alice hung up", slotFree)
}
