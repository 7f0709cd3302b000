// Package clienttest runs a real parkd for tests, on loopback sockets, with
// its HTTP API served, in the manner of net/http/httptest: the SIP
// listeners and the API are real, so tests drive it with siptest phones
// and through either parkd.Client (in-process or over HTTP).
package clienttest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/parkd/api"
	"github.com/parkd/parkd/parkd/apiclient"
	"github.com/parkd/parkd/sipcore/siptest"
)

// rtpBase hands each daemon its own RTP range, mostly clear of the
// ranges the other packages' tests use, so packages can run in parallel.
var rtpBase atomic.Int32

// Daemon is a parkd with its SIP listeners on 127.0.0.1:0 and its API on
// an ephemeral port, stopped when the test ends.
type Daemon struct {
	T      testing.TB
	Server *parkd.Server
	UDP    string // host:port of the SIP UDP listener
	TCP    string
	URL    string // the API's base URL, http://127.0.0.1:PORT
	Token  string
	Data   string // the data directory (store, token)
	// Events sees every event (a buffered Server.Events subscription).
	Events <-chan parkd.Event

	stop context.CancelFunc
	done chan struct{}
	once sync.Once
}

// Start runs a daemon on its defaults, changed by edit.
func Start(t testing.TB, edit func(*parkd.Config), opts ...parkd.Option) *Daemon {
	t.Helper()
	cfg := parkd.DefaultConfig()
	cfg.SIP.Listen = []string{"udp://127.0.0.1:0", "tcp://127.0.0.1:0"}
	// Ranges are reused after 30 daemons: the allocator skips a port
	// another process holds, so an overlap costs nothing but a retry.
	low := 46000 + int(rtpBase.Add(1)%30)*100
	cfg.RTP.Ports = fmt.Sprintf("%d-%d", low, low+99)
	cfg.Data = t.TempDir()
	cfg.API.Listen = "127.0.0.1:0"
	if edit != nil {
		edit(&cfg)
	}
	srv, err := parkd.New(cfg, Logger(t), opts...)
	if err != nil {
		t.Fatalf("starting parkd: %v", err)
	}
	d := &Daemon{T: t, Server: srv, Data: cfg.Data, done: make(chan struct{})}
	for _, a := range srv.SIPAddrs() {
		switch a.Network {
		case "udp":
			d.UDP = a.Addr
		case "tcp":
			d.TCP = a.Addr
		}
	}
	d.Events, _ = srv.Events(4096)
	if d.Token, err = api.LoadOrCreateToken(cfg.Data); err != nil {
		t.Fatalf("API token: %v", err)
	}
	ln, err := net.Listen("tcp", cfg.API.Listen)
	if err != nil {
		t.Fatalf("API listener: %v", err)
	}
	d.URL = "http://" + ln.Addr().String()

	ctx, cancel := context.WithCancel(context.Background())
	d.stop = cancel
	apiDone := make(chan struct{})
	go func() {
		defer close(apiDone)
		api.Serve(ctx, ln, api.NewHandler(srv, api.Options{Token: d.Token, Log: Logger(t), RingGroups: cfg.RingGroups}), "", "")
	}()
	go func() {
		defer close(d.done)
		srv.Run(ctx)
		<-apiDone
	}()
	t.Cleanup(d.Shutdown)
	return d
}

// Shutdown stops the daemon once and waits for it.
func (d *Daemon) Shutdown() {
	d.once.Do(func() {
		d.stop()
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
			d.T.Error("parkd did not stop within 10 s")
		}
	})
}

// Client is one way to reach a daemon through parkd.Client.
type Client struct {
	Name string
	Of   func(d *Daemon) parkd.Client
}

// Clients are the two parkd.Clients everything must behave the same
// through: the daemon itself, and the HTTP API's client.
var Clients = []Client{
	{"in-process", func(d *Daemon) parkd.Client { return d.Server }},
	{"http", func(d *Daemon) parkd.Client { return d.HTTP() }},
}

// HTTP is a parkd.Client talking to the daemon over its HTTP API.
func (d *Daemon) HTTP() parkd.Client {
	d.T.Helper()
	c, err := apiclient.New(d.URL, d.Token)
	if err != nil {
		d.T.Fatal(err)
	}
	return c
}

// URI is the SIP URI of an extension on the daemon, over the phone's
// transport.
func (d *Daemon) URI(ext string, p *siptest.Phone) string {
	if p.Transport == "tcp" {
		return "sip:" + ext + "@" + d.TCP + ";transport=tcp"
	}
	return "sip:" + ext + "@" + d.UDP
}

// Dial places a call and fails the test unless it gets want.
func (d *Daemon) Dial(p *siptest.Phone, ext string, want int, opts siptest.CallOptions) *siptest.Call {
	d.T.Helper()
	// Stop the daemon before the phone closes, so its BYEs still land.
	d.T.Cleanup(d.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := p.Dial(ctx, d.URI(ext, p), opts)
	if err != nil {
		d.T.Fatalf("%s dialling %s: %v", p.User, ext, err)
	}
	if c.Status() != want {
		d.T.Fatalf("%s dialling %s: got %d %s (Warning: %s), want %d", p.User, ext, c.Status(), c.Response().Reason, c.Warning(), want)
	}
	return c
}

// WaitEvent waits for the next event of kind; slot "" matches any.
func (d *Daemon) WaitEvent(kind parkd.EventKind, slot string) parkd.Event {
	d.T.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-d.Events:
			if !ok {
				d.T.Fatalf("event stream closed waiting for %s", kind)
			}
			if ev.Kind == kind && (slot == "" || ev.Slot == slot) {
				return ev
			}
		case <-timeout:
			d.T.Fatalf("no %s event for slot %q within 5 s", kind, slot)
		}
	}
}

// Logger fails the test on any ERROR line parkd logs: an error a caller
// never sees in a response is still a bug. PARKD_TEST_LOG=1 shows the log.
func Logger(t testing.TB) *slog.Logger {
	var out io.Writer = io.Discard
	level := slog.LevelInfo
	if os.Getenv("PARKD_TEST_LOG") != "" {
		out, level = os.Stderr, slog.LevelDebug
	}
	errs := &errorLines{}
	t.Cleanup(func() {
		for _, line := range errs.lines() {
			t.Errorf("parkd logged an error: %s", line)
		}
	})
	return slog.New(slog.NewTextHandler(io.MultiWriter(out, errs), &slog.HandlerOptions{Level: level}))
}

type errorLines struct {
	mu  sync.Mutex
	buf []string
}

func (e *errorLines) Write(p []byte) (int, error) {
	if strings.Contains(string(p), "level=ERROR") {
		e.mu.Lock()
		e.buf = append(e.buf, strings.TrimSpace(string(p)))
		e.mu.Unlock()
	}
	return len(p), nil
}

func (e *errorLines) lines() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.buf...)
}
