package parkd_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/parkd/clienttest"
	"github.com/parkd/parkd/sipcore/siptest"
)

// rtpRanges hands each test daemon its own RTP range so parallel tests and
// packages do not fight over ports. It wraps within 30000-64999, so
// -count=N runs more daemons than the ports hold; a range comes round
// again only after 175 later daemons, long after its own has stopped.
var rtpRanges atomic.Int32

func nextRTPPorts() string {
	const base, size, ranges = 30000, 200, 175
	low := base + size*(int(rtpRanges.Add(1)-1)%ranges)
	return fmt.Sprintf("%d-%d", low, low+size-1)
}

// daemon is a real parkd on loopback sockets for one test.
type daemon struct {
	t      *testing.T
	srv    *parkd.Server
	udp    string // host:port
	tcp    string
	events <-chan parkd.Event
	stop   context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// testLogger fails the test on any ERROR line parkd logs: an error a
// caller never sees in a SIP response is still a bug.
func testLogger(t *testing.T) *slog.Logger { return clienttest.Logger(t) }

// startDaemon runs parkd with its defaults on 127.0.0.1:0, changed by edit.
func startDaemon(t *testing.T, edit func(*parkd.Config), opts ...parkd.Option) *daemon {
	t.Helper()
	return startDaemonLogging(t, testLogger(t), edit, opts...)
}

// startDaemonLogging is startDaemon with parkd's log going to log.
func startDaemonLogging(t *testing.T, log *slog.Logger, edit func(*parkd.Config), opts ...parkd.Option) *daemon {
	t.Helper()
	cfg := parkd.DefaultConfig()
	cfg.SIP.Listen = []string{"udp://127.0.0.1:0", "tcp://127.0.0.1:0"}
	cfg.RTP.Ports = nextRTPPorts()
	cfg.Data = t.TempDir()
	if edit != nil {
		edit(&cfg)
	}
	srv, err := parkd.New(cfg, log, opts...)
	if err != nil {
		t.Fatalf("starting parkd: %v", err)
	}
	d := &daemon{t: t, srv: srv, done: make(chan struct{})}
	for _, a := range srv.SIPAddrs() {
		switch a.Network {
		case "udp":
			d.udp = a.Addr
		case "tcp":
			d.tcp = a.Addr
		}
	}
	d.events, _ = srv.Events(1024)
	ctx, cancel := context.WithCancel(context.Background())
	d.stop = cancel
	go func() { defer close(d.done); srv.Run(ctx) }()
	t.Cleanup(d.shutdown)
	return d
}

// shutdown stops the daemon once. dial registers it again after each phone
// is created, so the daemon's BYEs reach phones that are still listening.
func (d *daemon) shutdown() {
	d.once.Do(func() {
		d.stop()
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
			d.t.Error("parkd did not stop within 10 s")
		}
	})
}

// uri is the SIP URI of an extension on the daemon, over UDP or TCP.
func (d *daemon) uri(ext string, p *siptest.Phone) string {
	if p.Transport == "tcp" {
		return "sip:" + ext + "@" + d.tcp + ";transport=tcp"
	}
	return "sip:" + ext + "@" + d.udp
}

// dial places a call and fails the test unless it gets want.
func (d *daemon) dial(p *siptest.Phone, ext string, want int, opts siptest.CallOptions) *siptest.Call {
	d.t.Helper()
	d.t.Cleanup(d.shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := p.Dial(ctx, d.uri(ext, p), opts)
	if err != nil {
		d.t.Fatalf("%s dialling %s: %v", p.User, ext, err)
	}
	if c.Status() != want {
		d.t.Fatalf("%s dialling %s: got %d %s (Warning: %s), want %d", p.User, ext, c.Status(), c.Response().Reason, c.Warning(), want)
	}
	return c
}

// waitEvent waits for the next event of kind on slot.
func (d *daemon) waitEvent(kind parkd.EventKind, slot string) parkd.Event {
	d.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev := <-d.events:
			if ev.Kind == kind && ev.Slot == slot {
				return ev
			}
		case <-timeout:
			d.t.Fatalf("no %s event for slot %s within 5 s", kind, slot)
		}
	}
}

// slot returns the current view of a slot.
func (d *daemon) slot(name string) parkd.SlotView {
	d.t.Helper()
	v, err := d.srv.Slot(context.Background(), name)
	if err != nil {
		d.t.Fatal(err)
	}
	return v
}

func ctxFor(t *testing.T, dur time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	t.Cleanup(cancel)
	return ctx
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
