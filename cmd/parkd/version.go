package main

import "runtime/debug"

// buildVersion is set at release time with
// -ldflags "-X main.buildVersion=v1.2.3".
var buildVersion = ""

// version is what /api/v1/status and --version report: the release, else
// the module version `go install` recorded, else "dev".
func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
