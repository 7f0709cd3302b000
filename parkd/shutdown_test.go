package parkd_test

import (
	"time"

	"testing"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/sipcore/presence"
	"github.com/parkd/parkd/sipcore/siptest"
)

// On SIGTERM the parked calls are hung up first, and the final NOTIFY each
// watcher gets (terminated;reason=probation) shows the slot empty: a key
// must not stay lit for a call that is gone while parkd restarts.
func TestShutdownFinalNotifyIsEmpty(t *testing.T) {
	d := startDaemon(t, nil)
	watcher := siptest.NewPhone(t, "watcher")
	slotSub := d.subscribe(watcher, "701", 200, siptest.SubscribeOptions{Expires: 600})
	lotSub := d.subscribe(watcher, "700", 200, siptest.SubscribeOptions{Expires: 600})
	nextDialogInfo(t, slotSub)
	nextDialogInfo(t, lotSub)
	parked := d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
	for _, sub := range []*siptest.Subscription{slotSub, lotSub} {
		if _, info := nextDialogInfo(t, sub); len(info.Dialogs) != 1 {
			t.Fatalf("parked: the key shows %d dialogs, want 1", len(info.Dialogs))
		}
	}

	d.shutdown()
	if _, err := parked.WaitHangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatalf("the parked caller got no BYE: %v", err)
	}
	for name, sub := range map[string]*siptest.Subscription{"701": slotSub, "700": lotSub} {
		var n *siptest.Notify
		for n == nil || n.State != "terminated" {
			n = nextNotify(t, sub)
		}
		if n.Reason != "probation" || n.RetryAfter != 10 {
			t.Errorf("%s: final NOTIFY reason=%s retry-after=%d, want probation and 10", name, n.Reason, n.RetryAfter)
		}
		info, err := presence.ParseDialogInfo(n.Body)
		if err != nil {
			t.Fatalf("%s: final NOTIFY body: %v\n%s", name, err, n.Body)
		}
		if len(info.Dialogs) != 0 {
			t.Errorf("%s: final NOTIFY still shows %d dialogs (%s); the call was hung up, the key must go dark", name, len(info.Dialogs), n.Body)
		}
	}
}
