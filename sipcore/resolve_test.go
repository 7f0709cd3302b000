package sipcore

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// fakeDNS answers lookups from a table and records every name asked.
func fakeDNS(t *testing.T, hosts map[string]string, srv map[string]net.SRV) *[]string {
	var asked []string
	oldIP, oldSRV := lookupIPAddr, lookupSRV
	lookupIPAddr = func(_ context.Context, host string) ([]net.IPAddr, error) {
		asked = append(asked, host)
		if ip, ok := hosts[host]; ok {
			return []net.IPAddr{{IP: net.ParseIP(ip)}}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	lookupSRV = func(_ context.Context, _, proto, host string) (string, []*net.SRV, error) {
		asked = append(asked, "SRV "+proto+" "+host)
		if r, ok := srv[host]; ok {
			return "", []*net.SRV{&r}, nil
		}
		return "", nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	t.Cleanup(func() { lookupIPAddr, lookupSRV = oldIP, oldSRV })
	return &asked
}

func TestResolveHop(t *testing.T) {
	asked := fakeDNS(t, map[string]string{"pbx.example": "192.0.2.7", "sip1.example": "192.0.2.8"},
		map[string]net.SRV{"srv.example": {Target: "sip1.example", Port: 5070}})
	tests := []struct {
		uri, transport, want string
		lookups              int
	}{
		{"sip:bob@192.0.2.1", "udp", "192.0.2.1:5060", 0},
		{"sip:bob@[2001:db8::1]:5080", "udp", "[2001:db8::1]:5080", 0},
		{"sip:bob@pbx.example:5062", "udp", "192.0.2.7:5062", 1},
		{"sip:bob@pbx.example", "tcp", "192.0.2.7:5060", 1},
		{"sip:bob@srv.example", "udp", "192.0.2.8:5070", 3}, // A fails, SRV, then the target's A
		{"sip:bob@nowhere.example:5060", "udp", "", 1},      // a port: no SRV
	}
	for _, tt := range tests {
		*asked = nil
		var uri sip.Uri
		if err := sip.ParseUri(tt.uri, &uri); err != nil {
			t.Fatal(err)
		}
		got, err := resolveHop(context.Background(), uri, tt.transport)
		if tt.want == "" {
			if err == nil {
				t.Errorf("%s: resolved to %s, want an error", tt.uri, got)
			}
		} else if err != nil || got.String() != tt.want {
			t.Errorf("%s: %s, %v; want %s", tt.uri, got, err, tt.want)
		}
		if len(*asked) != tt.lookups {
			t.Errorf("%s: lookups %q, want %d", tt.uri, *asked, tt.lookups)
		}
	}
}

// sip.advertise is looked up once a minute, not per call.
func TestAdvertiseCache(t *testing.T) {
	asked := fakeDNS(t, map[string]string{"parkd.example": "198.51.100.4"}, nil)
	var c advertiseCache
	now := time.Unix(1000, 0)
	for i := range 3 {
		if a, ok := c.addr("parkd.example", now.Add(time.Duration(i)*time.Second)); !ok || a != netip.MustParseAddr("198.51.100.4") {
			t.Fatalf("advertise resolved to %v", a)
		}
	}
	if a, ok := c.addr("203.0.113.9", now); !ok || a.String() != "203.0.113.9" {
		t.Errorf("an IP advertise: %v", a)
	}
	c.addr("parkd.example", now.Add(advertiseTTL+time.Second))
	if len(*asked) != 2 {
		t.Errorf("lookups %q, want 2 (one per TTL)", *asked)
	}
}
