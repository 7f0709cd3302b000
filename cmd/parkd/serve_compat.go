package main

import "strings"

// serveFlagNames are the serve flags that Go's flag package, which parkd
// used before cobra, also accepted with one dash.
var serveFlagNames = []string{"config", "sip", "api", "rtp-ports", "data", "log-format", "log-level", "headless"}

// singleDashCompat rewrites "-sip x" to "--sip x" for `parkd` and `parkd
// serve`, so scripts written for the old parser keep working; pflag would
// read "-sip" as the shorthands -s -i -p.
func singleDashCompat(args []string) []string {
	if len(args) == 0 || (args[0] != "serve" && !strings.HasPrefix(args[0], "-")) {
		return args
	}
	out := make([]string, len(args))
	copy(out, args)
	for i, a := range out {
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") || strings.HasPrefix(a, "--") {
			continue
		}
		name, _, _ := strings.Cut(a[1:], "=")
		for _, n := range serveFlagNames {
			if name == n {
				out[i] = "-" + a
			}
		}
	}
	return out
}
