package interop

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parkd/parkd/sipcore/siptest"
)

// TestSippAttendedPark: Bob's phone (siptest) calls the park extension, the
// consultation call of an attended park, and is parked in 701. sipp then
// plays the transferee: an INVITE to 700 whose Replaces names Bob's
// consultation call and whose Referred-By names Bob (replaces_uac.xml). It
// is answered and hears music on hold; Bob's consultation leg gets BYE;
// and 701 now holds the transferee, whom Carol retrieves by dialling 701.
func TestSippAttendedPark(t *testing.T) {
	d := startDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bob := siptest.NewPhone(t, "bob", siptest.WithDisplay("Bob"))
	consult, err := bob.Dial(ctx, "sip:700@"+d.sipAddr(), siptest.CallOptions{})
	if err != nil || consult.Status() != 200 {
		t.Fatalf("Bob's consultation call to 700: %v %d\n%s", err, consult.Status(), d.logTail(40))
	}

	sink := newRTPSink(t, 0x2222)
	replaces := consult.CallID() + ";to-tag=" + consult.ToTag() + ";from-tag=" + consult.FromTag()
	done := goSipp(t, d, "replaces", sippRun{
		scenario: "replaces_uac.xml", service: "700", hold: 3 * time.Second,
		keys: map[string]string{"rtp_sink": strconv.Itoa(sink.port()), "replaces": replaces, "referred_by": "<" + bob.URI() + ">"},
	})
	if _, err := consult.WaitHangup(ctx); err != nil {
		t.Fatalf("the consultation leg got no BYE: %v\n%s", err, d.logTail(40))
	}
	time.Sleep(500 * time.Millisecond) // into sipp's 3 s in the slot
	carol := siptest.NewPhone(t, "carol")
	picked, err := carol.Dial(ctx, "sip:701@"+d.sipAddr(), siptest.CallOptions{})
	if err != nil || picked.Status() != 200 {
		t.Errorf("Carol dialling 701 after the attended park: %v %d (want 200: the transferee is parked there)\n%s", err, picked.Status(), d.logTail(40))
	}
	if moh := sink.collect(300 * time.Millisecond); len(moh) == 0 && picked.Status() != 200 {
		t.Error("the transferee heard nothing in the slot")
	}
	res := <-done
	res.check(t, d)
	if !strings.Contains(d.log(), "attended park completed") {
		t.Errorf("parkd never logged the attended park:\n%s", d.logTail(60))
	}
}

// TestSippReferReparks: Alice (siptest) is parked in 701; sipp dials 701
// and is bridged to her, then REFERs her to 700 (refer_uac.xml). sipp
// checks the 202, both sipfrag NOTIFYs (100 Trying, then 200 with the
// subscription terminated) and the BYE of its own leg; Alice stays on the
// line, parked again in 701, where Carol retrieves her.
func TestSippReferReparks(t *testing.T) {
	d := startDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alice := siptest.NewPhone(t, "alice", siptest.WithDisplay("Alice"))
	bob := siptest.NewPhone(t, "bob")
	parked, err := alice.Dial(ctx, "sip:700@"+d.sipAddr(), siptest.CallOptions{Headers: [][2]string{{"Referred-By", "<" + bob.URI() + ">"}}})
	if err != nil || parked.Status() != 200 {
		t.Fatalf("parking Alice: %v\n%s", err, d.logTail(40))
	}
	sink := newRTPSink(t, 0x3333)
	res := runSipp(t, d, "refer", sippRun{
		scenario: "refer_uac.xml", service: "701", hold: 500 * time.Millisecond,
		keys: map[string]string{"rtp_sink": strconv.Itoa(sink.port()), "refer_to": "sip:700@" + d.sipAddr()},
	})
	res.check(t, d)
	for _, want := range []string{"sipfrag SIP/2.0 100", "sipfrag SIP/2.0 200"} {
		if !strings.Contains(res.file("actions.log"), want) {
			t.Errorf("sipp never logged %q:\n%s", want, res.report())
		}
	}
	if parked.HungUp() {
		t.Fatal("Alice was hung up instead of re-parked")
	}
	carol := siptest.NewPhone(t, "carol")
	picked, err := carol.Dial(ctx, "sip:701@"+d.sipAddr(), siptest.CallOptions{})
	if err != nil || picked.Status() != 200 {
		t.Errorf("Carol dialling 701 after the REFER: %v %d (want 200: Alice is parked there again)\n%s", err, picked.Status(), d.logTail(40))
	}
}
