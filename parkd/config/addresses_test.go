package config

import (
	"net/netip"
	"strings"
	"testing"
)

func TestListenAllowPorts(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SIP.Listen = []string{"udp://127.0.0.1:5060", "sctp://127.0.0.1:5060"}
	if _, err := cfg.ListenURIs(); err == nil || !strings.Contains(err.Error(), "sip.listen[1]") {
		t.Errorf("ListenURIs() error = %v", err)
	}
	cfg.SIP.Allow = []string{"10.1.2.3/8", "::1", "fe80::1%eth0"}
	if _, err := cfg.AllowNets(); err == nil || !strings.Contains(err.Error(), "sip.allow[2]") {
		t.Errorf("AllowNets() error = %v", err)
	}
	cfg.SIP.Allow = cfg.SIP.Allow[:2]
	nets, err := cfg.AllowNets()
	if err != nil || nets[0] != netip.MustParsePrefix("10.0.0.0/8") || nets[1] != netip.MustParsePrefix("::1/128") {
		t.Errorf("AllowNets() = %v, %v", nets, err)
	}
	for ports, ok := range map[string]bool{
		"1024-1025": true, "20001-20998": true, "65534-65535": true,
		"1023-2000": false, "2000-65536": false, "5000": false, "5000-": false, "-5000": false, "5000-5000": false,
	} {
		cfg.RTP.Ports = ports
		_, _, err := cfg.RTPPortRange()
		if (err == nil) != ok {
			t.Errorf("RTPPortRange(%q) error = %v, want ok=%v", ports, err, ok)
		}
	}
}
