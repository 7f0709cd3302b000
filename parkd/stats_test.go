package parkd_test

import (
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/sipcore/siptest"
)

func sipRequests(st parkd.Stats, method string) uint64 {
	for _, r := range st.SIP.Requests {
		if r.Method == method {
			return r.Count
		}
	}
	return 0
}

func sipResponses(st parkd.Stats, method string, code int) uint64 {
	for _, r := range st.SIP.Responses {
		if r.Method == method && r.Code == code {
			return r.Count
		}
	}
	return 0
}

func TestServerStats(t *testing.T) {
	// A self-parked call hears its slot before the music: count music only.
	d := startDaemon(t, func(c *parkd.Config) { c.Lots[0].AnnounceSlot = new(bool) })
	st := d.srv.Stats()
	if st.SlotsInUse["main"] != 0 || st.Queued["main"] != 0 || st.MOHListeners != 0 || st.SIP.Calls != 0 {
		t.Fatalf("idle daemon: %+v", st)
	}
	if _, ok := st.SlotsInUse["main"]; !ok {
		t.Fatalf("lot main missing from SlotsInUse: %v", st.SlotsInUse)
	}
	if _, ok := st.Queued["main"]; !ok {
		t.Fatalf("lot main missing from Queued: %v", st.Queued)
	}
	rtpIn0, rtpOut0 := st.RTPReceived, st.RTPSent

	alice := siptest.NewPhone(t, "alice")
	call := d.dial(alice, "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
	if _, err := call.RTP.Collect(ctxFor(t, 3*time.Second), 5, nil); err != nil {
		t.Fatalf("music on hold: %v", err)
	}
	st = d.srv.Stats()
	if st.SlotsInUse["main"] != 1 || st.MOHListeners != 1 || st.SIP.Calls != 1 {
		t.Errorf("one parked call: slots in use %v, MOH listeners %d, calls %d", st.SlotsInUse, st.MOHListeners, st.SIP.Calls)
	}
	if sipRequests(st, "INVITE") < 1 || sipResponses(st, "INVITE", 200) < 1 {
		t.Errorf("the INVITE is not counted: %+v %+v", st.SIP.Requests, st.SIP.Responses)
	}
	// The caller may read a packet before the sender has counted it.
	for deadline := time.Now().Add(time.Second); st.RTPSent-rtpOut0 < 5 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
		st = d.srv.Stats()
	}
	if st.RTPSent-rtpOut0 < 5 {
		t.Errorf("RTP sent moved by %d while the caller heard 5 packets", st.RTPSent-rtpOut0)
	}
	if st.RTPReceived < rtpIn0 {
		t.Errorf("RTP received went back from %d to %d", rtpIn0, st.RTPReceived)
	}

	if _, err := call.Hangup(ctxFor(t, 3*time.Second)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		st = d.srv.Stats()
		if st.SlotsInUse["main"] == 0 && st.MOHListeners == 0 && st.SIP.Calls == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after hangup: slots in use %v, MOH listeners %d, calls %d", st.SlotsInUse, st.MOHListeners, st.SIP.Calls)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if sipResponses(st, "BYE", 200) != 1 {
		t.Errorf("BYE 200 counted %d times, want 1", sipResponses(st, "BYE", 200))
	}
}
