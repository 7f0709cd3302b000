package sipcore

import (
	"fmt"
	"testing"
	"time"
)

// intervalLog lets one line through per interval and reports how many it
// held back in between.
func TestLogEvery(t *testing.T) {
	l := intervalLog{every: time.Second}
	t0 := time.Unix(1000, 0)
	steps := []struct {
		at         time.Duration
		ok         bool
		suppressed int
	}{
		{0, true, 0},
		{10 * time.Millisecond, false, 0},
		{500 * time.Millisecond, false, 0},
		{999 * time.Millisecond, false, 0},
		{time.Second, true, 3},
		{1500 * time.Millisecond, false, 0},
		{5 * time.Second, true, 1},
		{7 * time.Second, true, 0},
	}
	for _, s := range steps {
		ok, n := l.allow(t0.Add(s.at))
		if ok != s.ok || n != s.suppressed {
			t.Errorf("at %s: allow %v with %d suppressed, want %v with %d", s.at, ok, n, s.ok, s.suppressed)
		}
	}
}

func TestTCPLimitsDefaults(t *testing.T) {
	var l TCPLimits
	l.setDefaults()
	want := TCPLimits{MaxConnections: 10000, MaxPerSource: 200, IdleTimeout: 5 * time.Minute, MessageTimeout: 10 * time.Second}
	if l != want {
		t.Errorf("defaults %+v, want %+v (sip.tcp in DESIGN)", l, want)
	}
	never := TCPLimits{IdleTimeout: NoIdleTimeout}
	never.setDefaults()
	if never.IdleTimeout != NoIdleTimeout {
		t.Errorf("NoIdleTimeout became %s", never.IdleTimeout)
	}
}

// A TCP connection counts as a dialog's while the dialog lives and for
// tcpDialogGrace after, so its last BYE or NOTIFY still has a connection.
func TestTCPSourcesGrace(t *testing.T) {
	src := tcpSources{}
	a := &dialogPeer{transport: "tcp", source: "127.0.0.1:5000"}
	b := &dialogPeer{transport: "tcp", source: "127.0.0.1:5000"}
	udp := &dialogPeer{transport: "udp", source: "127.0.0.1:5001"}
	src.add(a)
	src.add(b)
	src.add(udp)
	if !src.uses(a.source) || src.uses(udp.source) {
		t.Fatalf("two TCP dialogs and a UDP one: %v", src)
	}
	src.remove(a)
	src.remove(udp)
	if !src.uses(a.source) {
		t.Fatal("one dialog left: not in use")
	}
	src.remove(b)
	if !src.uses(a.source) {
		t.Fatal("no grace after the last dialog ended")
	}
	src[a.source] = tcpUse{ended: time.Now().Add(-tcpDialogGrace - time.Second)}
	if src.uses(a.source) || len(src) != 0 {
		t.Fatalf("in use after the grace, or not forgotten: %v", src)
	}

	// Stale entries nobody asks about go as other dialogs end.
	for i := 0; i < 100; i++ {
		src[fmt.Sprintf("10.0.0.1:%d", i)] = tcpUse{ended: time.Now().Add(-time.Hour)}
	}
	for i := 0; i < 200; i++ {
		p := &dialogPeer{transport: "tcp", source: "127.0.0.1:6000"}
		src.add(p)
		src.remove(p)
	}
	if len(src) > 10 {
		t.Errorf("%d entries left after 200 dialogs ended, want the stale ones swept", len(src))
	}
}
