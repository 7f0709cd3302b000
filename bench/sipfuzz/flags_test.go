package main

import (
	"io"
	"strings"
	"testing"
)

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-sip", "127.0.0.1:5070", "-sources", "127.0.0.2-127.0.0.3,127.0.0.9", "-dns-listen", "127.0.0.1:53, 10.0.0.53:53"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	tg := o.target()
	if tg.Host != "127.0.0.1" || tg.Port != 5070 || len(tg.Slots) != 20 || tg.Slots[0] != "701" || tg.Slots[19] != "720" ||
		strings.Join(tg.SourceIPs, ",") != "127.0.0.2,127.0.0.3,127.0.0.9" || len(o.dnsAddrs) != 2 || o.canaryPorts != [2]int{46000, 46019} {
		t.Errorf("target %+v, dns %v, canary ports %v", tg, o.dnsAddrs, o.canaryPorts)
	}
	for _, tc := range []struct {
		args []string
		want string // in the error: the flag at fault
	}{
		{[]string{"-sip", "localhost:5060"}, "-sip"},
		{[]string{"-sources", "127.0.0.9-127.0.0.2"}, "-sources"},
		{[]string{"-slots", "abc"}, "-slots"},
		{[]string{"-canary-rtp", "9-1"}, "-canary-rtp"},
		{[]string{"-dns-listen", "10.0.0.53"}, "-dns-listen"},
		{[]string{"-token-file", "/nonexistent/token"}, "-token-file"},
		{[]string{"-rate", "0"}, "-rate"},
		{[]string{"extra"}, "unexpected argument"},
	} {
		if _, err := parseFlags(tc.args, io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseFlags(%q) = %v, want an error naming %s", tc.args, err, tc.want)
		}
	}
}
