package parkd

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/parkd/parkd/sipcore"
)

func TestMatchRetrieveAllow(t *testing.T) {
	alice := sipcore.Identity{User: "alice", URI: "sip:alice@pbx.example.com", Authenticated: true}
	ext201 := sipcore.Identity{User: "201", URI: "sip:201@pbx.example.com", Trusted: true}
	for _, tc := range []struct {
		allow []string
		id    sipcore.Identity
		want  bool
	}{
		{nil, alice, true},
		{[]string{"alice"}, alice, true},
		{[]string{"bob"}, alice, false},
		{[]string{"2*"}, ext201, true},
		{[]string{"2*"}, alice, false},
		{[]string{"sip:2*@pbx.example.com"}, ext201, true},
		{[]string{"sip:2*@other.example.com"}, ext201, false},
		{[]string{"sip:*@pbx.example.com"}, alice, true},
		{[]string{"alice"}, sipcore.Identity{}, false},
		{[]string{"*"}, sipcore.Identity{}, false}, // no user, no match
	} {
		l := &lot{cfg: LotConfig{RetrieveAllow: tc.allow}}
		if got := mayRetrieve(l, tc.id); got != tc.want {
			t.Errorf("retrieve_allow %q, %+v: got %v, want %v", tc.allow, tc.id, got, tc.want)
		}
	}
}

func TestBLFDetailRule(t *testing.T) {
	open := &lot{cfg: LotConfig{}}
	listed := &lot{cfg: LotConfig{RetrieveAllow: []string{"alice"}}}
	anon := sipcore.Identity{User: "alice", URI: "sip:alice@h"}
	authed := sipcore.Identity{User: "alice", URI: "sip:alice@h", Authenticated: true}
	bob := sipcore.Identity{User: "bob", URI: "sip:bob@h", Trusted: true}
	for _, tc := range []struct {
		name string
		l    *lot
		id   sipcore.Identity
		want bool
	}{
		{"auth off, no list: as before, everyone", open, anon, true},
		{"auth on, no list: authenticated watcher", open, authed, true},
		{"auth off, listed but From only", listed, anon, false},
		{"listed and authenticated", listed, authed, true},
		{"trusted but not listed", listed, bob, false},
	} {
		s := &Server{}
		if got := s.mayWatchDetail(tc.l, tc.id); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A daemon listening on every interface with no sip.auth warns at start.
func TestWarnsWhenExposedWithoutAuth(t *testing.T) {
	for _, tc := range []struct {
		listen string
		warn   bool
	}{
		{"udp://0.0.0.0:0", true},
		{"udp://127.0.0.1:0", false},
	} {
		var buf bytes.Buffer
		cfg := DefaultConfig()
		cfg.SIP.Listen = []string{tc.listen}
		cfg.RTP.Ports = "39000-39019"
		cfg.Data = t.TempDir()
		srv, err := New(cfg, slog.New(slog.NewTextHandler(&buf, nil)))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		srv.Run(ctx)
		got := strings.Contains(buf.String(), "level=WARN") && strings.Contains(buf.String(), "beyond loopback without sip.auth")
		if got != tc.warn {
			t.Errorf("listening on %s: warned %v, want %v; log:\n%s", tc.listen, got, tc.warn, buf.String())
		}
	}
}

// users_file is read by New: a missing file is a config error naming the
// key, and its users turn authentication on.
func TestUsersFileAtStart(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SIP.Listen = []string{"udp://127.0.0.1:0"}
	cfg.RTP.Ports = "39020-39039"
	cfg.Data = t.TempDir()
	cfg.SIP.Auth.UsersFile = t.TempDir() + "/missing"
	_, err := New(cfg, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "sip.auth.users_file") {
		t.Fatalf("a missing users_file gave %v, want an error naming sip.auth.users_file", err)
	}
	users, err := cfg.AuthFileUsers()
	if err == nil || users != nil {
		t.Fatalf("AuthFileUsers on a missing file = %v, %v", users, err)
	}

	cfg.SIP.Auth.UsersFile = t.TempDir() + "/users.htdigest"
	if err := os.WriteFile(cfg.SIP.Auth.UsersFile, []byte("alice:parkd:0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	srv.Run(ctx)
	if settings, err := endpointSettings(srv.config()); err != nil || !settings.Auth.Enabled() {
		t.Error("a users_file with a user of the realm did not turn sip.auth on")
	}
}
