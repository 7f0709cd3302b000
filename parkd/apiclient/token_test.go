package apiclient

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindToken(t *testing.T) {
	withFile := t.TempDir()
	os.WriteFile(filepath.Join(withFile, "token"), []byte("  from-file\n"), 0o600)
	empty := t.TempDir()
	os.WriteFile(filepath.Join(empty, "token"), []byte("\n"), 0o600)
	none := t.TempDir()
	state := t.TempDir()
	os.MkdirAll(filepath.Join(state, "parkd"), 0o700)
	os.WriteFile(filepath.Join(state, "parkd", "token"), []byte("default-dir\n"), 0o600)

	cases := []struct {
		name, flag, env, dir, want, bad string
	}{
		{name: "flag first", flag: "from-flag", env: "from-env", dir: withFile, want: "from-flag"},
		{name: "then env", env: " from-env ", dir: withFile, want: "from-env"},
		{name: "then the file", dir: withFile, want: "from-file"},
		{name: "default data dir", want: "default-dir"},
		{name: "no file", dir: none, bad: filepath.Join(none, "token") + " does not exist"},
		{name: "empty file", dir: empty, bad: filepath.Join(empty, "token") + " is empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PARKD_TOKEN", tc.env)
			t.Setenv("XDG_STATE_HOME", state)
			got, err := FindToken(tc.flag, tc.dir)
			if tc.bad != "" {
				if err == nil || !strings.Contains(err.Error(), tc.bad) {
					t.Fatalf("got %q %v, want an error with %q", got, err, tc.bad)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q %v, want %q", got, err, tc.want)
			}
		})
	}
}
