package sipcore

import (
	"net/netip"
	"testing"
)

// The signalling IP comes from the transport's "ip:port"; anything else
// (a name, nothing) gives no IP, which leaves the session SDP-only.
func TestSignallingIP(t *testing.T) {
	cases := []struct {
		source string
		want   netip.Addr
	}{
		{"127.0.0.1:5060", netip.MustParseAddr("127.0.0.1")},
		{"[::1]:5060", netip.MustParseAddr("::1")},
		{"[::ffff:192.0.2.7]:5060", netip.MustParseAddr("192.0.2.7")},
		{"", netip.Addr{}},
		{"pbx.example.com:5060", netip.Addr{}},
		{"127.0.0.1", netip.Addr{}},
	}
	for _, tc := range cases {
		if got := signallingIP(tc.source); got != tc.want {
			t.Errorf("signallingIP(%q) = %v, want %v", tc.source, got, tc.want)
		}
	}
}
