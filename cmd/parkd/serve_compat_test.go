package main

import (
	"slices"
	"testing"
)

func TestSingleDashCompat(t *testing.T) {
	cases := []struct{ in, want []string }{
		{[]string{"serve", "-sip", "udp://x", "-data=/d", "-headless"}, []string{"serve", "--sip", "udp://x", "--data=/d", "--headless"}},
		{[]string{"-config", "a.yaml"}, []string{"--config", "a.yaml"}},
		{[]string{"serve", "--sip", "x", "-h"}, []string{"serve", "--sip", "x", "-h"}},
		{[]string{"serve", "--", "-sip"}, []string{"serve", "--", "-sip"}},
		// ctl has flags of the same names but never took one dash.
		{[]string{"ctl", "-api", "x"}, []string{"ctl", "-api", "x"}},
		{nil, nil},
	}
	for _, tc := range cases {
		if got := singleDashCompat(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}
