package parkd_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/parkd/clienttest"
	"github.com/parkd/parkd/sipcore/siptest"
)

// A call to the park extension is answered, takes the first slot and hears
// music on hold: real 20 ms G.711 frames in one steady RTP stream.
func TestParkHearsMusicOnHold(t *testing.T) {
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			d := startDaemon(t, nil)
			var opts []siptest.Option
			if transport == "tcp" {
				opts = append(opts, siptest.WithTCP())
			}
			alice := siptest.NewPhone(t, "alice", append(opts, siptest.WithDisplay("Alice"))...)
			call := d.dial(alice, "700", 200, siptest.CallOptions{})
			if call.RTP.Codec() != "PCMU" {
				t.Fatalf("answered codec %q, want PCMU (the caller's first choice)", call.RTP.Codec())
			}
			ev := d.waitEvent(parkd.EventParked, "701")
			if ev.Call.Caller.Display != "Alice" || !contains(ev.Call.Caller.URI, "alice@") {
				t.Errorf("parked caller = %+v, want Alice <sip:alice@…>", ev.Call.Caller)
			}
			if ev.Call.Parker != nil || ev.Call.ParkerFrom != "" {
				t.Errorf("parker = %+v from %q, want unknown (no Referred-By: a recall must not ring the caller back to herself)", ev.Call.Parker, ev.Call.ParkerFrom)
			}
			if ev.Call.CallID != call.CallID() || ev.Call.RemoteTag != call.FromTag() || ev.Call.LocalTag != call.ToTag() {
				t.Errorf("slot dialog = %+v, want call-id %s local-tag %s remote-tag %s", ev.Call, call.CallID(), call.ToTag(), call.FromTag())
			}

			pkts, err := call.RTP.Collect(ctxFor(t, 3*time.Second), 25, nil)
			if err != nil {
				t.Fatalf("music on hold: %v", err)
			}
			checkStream(t, pkts, 0)
		})
	}
}

// checkStream asserts one well-formed 20 ms G.711 RTP stream.
func checkStream(t *testing.T, pkts []siptest.Received, pt uint8) {
	t.Helper()
	ssrc := pkts[0].SSRC
	silent := 0
	for i, p := range pkts {
		if p.Version != 2 || p.PayloadType != pt || len(p.Payload) != 160 || p.SSRC != ssrc {
			t.Fatalf("packet %d: v%d pt %d len %d ssrc %x, want v2 pt %d len 160 ssrc %x", i, p.Version, p.PayloadType, len(p.Payload), p.SSRC, pt, ssrc)
		}
		if bytes.Count(p.Payload, p.Payload[:1]) == 160 {
			silent++
		}
		if i == 0 {
			continue
		}
		prev := pkts[i-1]
		if p.SequenceNumber != prev.SequenceNumber+1 || p.Timestamp != prev.Timestamp+160 {
			t.Fatalf("packet %d: seq %d ts %d after seq %d ts %d, want +1 and +160", i, p.SequenceNumber, p.Timestamp, prev.SequenceNumber, prev.Timestamp)
		}
		if p.Marker {
			t.Errorf("packet %d has the marker bit; only a stream's first packet may", i)
		}
	}
	if silent == len(pkts) {
		t.Error("every frame is constant: music on hold is silence")
	}
	span := pkts[len(pkts)-1].At.Sub(pkts[0].At)
	want := time.Duration(len(pkts)-1) * 20 * time.Millisecond
	t.Logf("%d packets over %v (ideal %v)", len(pkts), span, want)
	if span < want/2 {
		t.Errorf("%d packets arrived in %v: not paced at 20 ms", len(pkts), span)
	}
}

// A transfer into the park extension records the transferor (Referred-By)
// as the parker.
func TestParkByTransferRecordsParker(t *testing.T) {
	d := startDaemon(t, nil)
	caller := siptest.NewPhone(t, "carol", siptest.WithDisplay("Carol"))
	d.dial(caller, "700", 200, siptest.CallOptions{Headers: [][2]string{{"Referred-By", `"Reception" <sip:201@pbx.example.com>`}}})
	ev := d.waitEvent(parkd.EventParked, "701")
	if ev.Call.Parker == nil || ev.Call.Parker.URI != "sip:201@pbx.example.com" || ev.Call.Parker.Display != "Reception" {
		t.Errorf("parker = %+v, want Reception <sip:201@pbx.example.com>", ev.Call.Parker)
	}
	if ev.Call.Caller.Display != "Carol" {
		t.Errorf("caller = %+v, want Carol", ev.Call.Caller)
	}
}

// Dialling an occupied slot retrieves: the calls are bridged and audio
// flows both ways, transcoded when the codecs differ; the slot is freed.
func TestRetrieveBridgesAudio(t *testing.T) {
	cases := []struct {
		name          string
		parked, retrv []string
	}{
		{"same codec", []string{"PCMU"}, []string{"PCMU"}},
		{"ulaw to alaw", []string{"PCMU"}, []string{"PCMA"}},
		{"alaw to ulaw", []string{"PCMA"}, []string{"PCMU"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := startDaemon(t, nil)
			alice := siptest.NewPhone(t, "alice")
			bob := siptest.NewPhone(t, "bob")
			parked := d.dial(alice, "700", 200, siptest.CallOptions{Codecs: tc.parked})
			d.waitEvent(parkd.EventParked, "701")
			retriever := d.dial(bob, "701", 200, siptest.CallOptions{Codecs: tc.retrv})
			ev := d.waitEvent(parkd.EventRetrieved, "701")
			if ev.Call.CallID != parked.CallID() {
				t.Errorf("retrieved call %s, want %s", ev.Call.CallID, parked.CallID())
			}
			if v := d.slot("701"); v.Call != nil {
				t.Errorf("slot 701 still holds %+v after retrieve", v.Call)
			}
			assertAudio(t, parked, retriever)
			assertAudio(t, retriever, parked)
		})
	}
}

// assertAudio sends a known frame from one phone and checks it arrives at
// the other, in the other's codec.
func assertAudio(t *testing.T, from, to *siptest.Call) {
	t.Helper()
	clienttest.AssertAudio(t, from, to)
}

// RFC 4733 telephone-events cross the bridge with the receiver's payload type.
func TestRetrieveRelaysTelephoneEvents(t *testing.T) {
	d := startDaemon(t, nil)
	alice := siptest.NewPhone(t, "alice")
	bob := siptest.NewPhone(t, "bob")
	parked := d.dial(alice, "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
	retriever := d.dial(bob, "701", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventRetrieved, "701")
	if retriever.RTP.EventPT() == 0 || parked.RTP.EventPT() == 0 {
		t.Fatal("telephone-event was not negotiated")
	}
	// The event is emitted as the legs are linked, a moment before the
	// relay runs; audio that crosses shows the bridge is up.
	assertAudio(t, parked, retriever)
	for i := 0; i < 3; i++ {
		if err := parked.RTP.SendEvent(5, i == 2, uint16(160*(i+1))); err != nil {
			t.Fatal(err)
		}
	}
	got, err := retriever.RTP.Collect(ctxFor(t, 3*time.Second), 3, func(p siptest.Received) bool {
		return p.PayloadType == retriever.RTP.EventPT()
	})
	if err != nil {
		t.Fatalf("telephone-event: %v", err)
	}
	if got[0].Payload[0] != 5 || got[2].Payload[1]&0x80 == 0 {
		t.Errorf("events arrived as %x %x, want digit 5 with the end bit on the last", got[0].Payload, got[2].Payload)
	}
}

// A BYE on either leg of a bridge hangs up the other.
func TestHangupEndsBothLegs(t *testing.T) {
	for _, who := range []string{"parked", "retriever"} {
		t.Run(who+" hangs up", func(t *testing.T) {
			d := startDaemon(t, nil)
			parked := d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{})
			d.waitEvent(parkd.EventParked, "701")
			retriever := d.dial(siptest.NewPhone(t, "bob"), "701", 200, siptest.CallOptions{})
			d.waitEvent(parkd.EventRetrieved, "701")
			leaver, other := parked, retriever
			if who == "retriever" {
				leaver, other = retriever, parked
			}
			res, err := leaver.Hangup(ctxFor(t, 3*time.Second))
			if err != nil || res.StatusCode != 200 {
				t.Fatalf("BYE: %v %v", res, err)
			}
			if _, err := other.WaitHangup(ctxFor(t, 3*time.Second)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A parked caller who hangs up frees the slot at once.
func TestParkedCallerHangupFreesSlot(t *testing.T) {
	d := startDaemon(t, nil)
	call := d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
	if _, err := call.Hangup(ctxFor(t, 3*time.Second)); err != nil {
		t.Fatal(err)
	}
	d.waitEvent(parkd.EventAbandoned, "701")
	if v := d.slot("701"); v.Call != nil {
		t.Fatalf("slot 701 still occupied: %+v", v.Call)
	}
	// The freed slot is the first one taken again.
	d.dial(siptest.NewPhone(t, "bob"), "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
}
