package main

import (
	"debug/buildinfo"
	"os/exec"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
)

func TestFormatVersion(t *testing.T) {
	info := func(settings ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{}
		for i := 0; i < len(settings); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return bi
	}
	const rev = "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d"
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"no build info", nil, "v1.2.3 (go1.26.8)"},
		{"no vcs", info("GOOS", "linux"), "v1.2.3 (go1.26.8)"},
		{"clean checkout", info("vcs.revision", rev, "vcs.modified", "false"), "v1.2.3 (go1.26.8, rev 1a2b3c4d5e6f)"},
		{"modified tree", info("vcs.revision", rev, "vcs.modified", "true", "vcs.time", "2026-12-04T14:00:00Z"), "v1.2.3 (go1.26.8, rev 1a2b3c4d5e6f, modified)"},
		{"short revision", info("vcs.revision", "abc"), "v1.2.3 (go1.26.8, rev abc)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatVersion("v1.2.3", "go1.26.8", tt.bi); got != tt.want {
				t.Errorf("formatVersion = %q, want %q", got, tt.want)
			}
		})
	}
}

// The built binary names itself, its Go and, when the build recorded one
// (a `go build` in a git checkout does), the commit it came from.
func TestVersionFlag(t *testing.T) {
	bi, err := buildinfo.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	wantRev := ""
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			wantRev = ", rev " + s.Value[:12]
		}
	}
	format := regexp.MustCompile(`^parkd \S+ \((go[0-9][^,)]*)(, rev [0-9a-f]{12}(, modified)?)?\)\n$`)
	for _, args := range [][]string{{"--version"}, {"version"}} {
		out, err := exec.Command(binary, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("parkd %s: %v\n%s", args[0], err, out)
		}
		m := format.FindStringSubmatch(string(out))
		if m == nil {
			t.Fatalf("parkd %s printed %q, want %s", args[0], out, format)
		}
		if m[1] != bi.GoVersion {
			t.Errorf("parkd %s names %s, want %s", args[0], m[1], bi.GoVersion)
		}
		if !strings.HasPrefix(m[2], wantRev) || (wantRev == "") != (m[2] == "") {
			t.Errorf("parkd %s: revision part %q, want %q from the build info", args[0], m[2], wantRev)
		}
	}
}
