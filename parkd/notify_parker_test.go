package parkd_test

import (
	"strings"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/sipcore/siptest"
)

// A blind transfer into park: the parker's phone gets a MESSAGE naming
// who was parked, in which slot and lot, from the lot's park extension.
func TestParkerToldTheSlot(t *testing.T) {
	r := startRecallRig(t, nil)
	m, err := r.bob.NextMessage(ctxFor(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	want := "Parked Alice <" + r.alice.URI() + "> on 701 (main)"
	if m.Body != want {
		t.Errorf("MESSAGE body %q, want %q", m.Body, want)
	}
	if !strings.HasPrefix(m.ContentType, "text/plain") {
		t.Errorf("Content-Type %q, want text/plain", m.ContentType)
	}
	if !strings.HasPrefix(m.From, "sip:700@") {
		t.Errorf("MESSAGE from %s, want the park extension", m.From)
	}
}

// notify_parker: none sends nothing; a parker that refuses the MESSAGE
// changes nothing for the parked call.
func TestParkerMessageOffOrRefused(t *testing.T) {
	t.Run("none", func(t *testing.T) {
		r := startRecallRig(t, func(c *parkd.Config, _ *recallRig) { c.Lots[0].NotifyParker = parkd.NotifyParkerNone })
		if m, err := r.bob.NextMessage(ctxFor(t, 500*time.Millisecond)); err == nil {
			t.Errorf("notify_parker: none, yet the parker got %q", m.Body)
		}
	})
	t.Run("refused", func(t *testing.T) {
		bob := siptest.NewPhone(t, "bob")
		bob.RejectMessages(415)
		d := startDaemon(t, nil)
		alice := siptest.NewPhone(t, "alice")
		parked := d.dial(alice, "700", 200, siptest.CallOptions{Headers: [][2]string{{"Referred-By", "<" + bob.URI() + ">"}}})
		d.waitEvent(parkd.EventParked, "701")
		time.Sleep(200 * time.Millisecond) // the refusal comes back meanwhile
		if v := d.slot("701"); v.State != parkd.SlotParked {
			t.Errorf("slot 701 is %s after the parker refused the MESSAGE, want parked", v.State)
		}
		hearsMusic(t, parked, "after the parker refused the MESSAGE")
	})
}

// A stranger may not aim the MESSAGE at a third party: a parker on another
// host than the one that parked is written to only when the park came from
// a trusted (or authenticated) source.
func TestParkerMessageNotReflected(t *testing.T) {
	for _, trusted := range []bool{false, true} {
		bob := siptest.NewPhone(t, "bob", siptest.WithHost("127.0.0.2"))
		d := startDaemon(t, func(c *parkd.Config) {
			if trusted {
				c.SIP.Trusted = []string{"127.0.0.1"}
			}
		})
		d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{Headers: [][2]string{{"Referred-By", "<" + bob.URI() + ">"}}})
		d.waitEvent(parkd.EventParked, "701")
		_, err := bob.NextMessage(ctxFor(t, 500*time.Millisecond))
		if got := err == nil; got != trusted {
			t.Errorf("park from 127.0.0.1 (trusted %v) naming a parker on 127.0.0.2: MESSAGE sent %v, want %v", trusted, got, trusted)
		}
		d.shutdown()
	}
}
