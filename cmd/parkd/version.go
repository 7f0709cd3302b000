package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

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

// longVersion is what --version prints after "parkd ": the version, the Go
// that built it and, when the build recorded one, the commit, so a bug
// report names exactly the code that ran.
func longVersion() string {
	bi, _ := debug.ReadBuildInfo()
	return formatVersion(version(), runtime.Version(), bi)
}

// formatVersion is longVersion with its inputs given: "v1.2.3 (go1.26.8,
// rev 1a2b3c4d5e6f, modified)". A short revision is enough to find the
// commit; "modified" warns that the tree had uncommitted changes.
func formatVersion(v, goVersion string, bi *debug.BuildInfo) string {
	parts := []string{goVersion}
	var rev, modified string
	if bi != nil {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
	}
	if rev != "" {
		parts = append(parts, "rev "+rev[:min(len(rev), 12)])
		if modified == "true" {
			parts = append(parts, "modified")
		}
	}
	return fmt.Sprintf("%s (%s)", v, strings.Join(parts, ", "))
}

// newVersionCmd is `parkd version`, for those who type it as a command.
func newVersionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, the Go version and the commit parkd was built from",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, args []string) {
			fmt.Fprintf(e.stdout, "parkd %s\n", longVersion())
		},
	}
}
