package config

import (
	"strings"
	"testing"
)

// An htdigest users file: its users of the realm, or an error naming the
// line.
func TestParseUsersFile(t *testing.T) {
	const md5a = "0123456789abcdef0123456789abcdef"
	const sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name, file string
		want       []AuthUser
		wantErr    string
	}{
		{"htdigest lines", "alice:parkd:" + md5a + "\nbob:parkd:" + strings.ToUpper(md5a) + "\n",
			[]AuthUser{{Name: "alice", HA1: md5a}, {Name: "bob", HA1: md5a}}, ""},
		{"SHA-256 and MD5 for one user", "alice:parkd:" + md5a + "\r\nalice:parkd:" + sha + "\r\n",
			[]AuthUser{{Name: "alice", HA1: md5a}, {Name: "alice", HA1SHA256: sha}}, ""},
		{"other realms, comments and blank lines", "# users\n\ncarol:other:" + md5a + "\nalice:parkd:" + md5a + "\n",
			[]AuthUser{{Name: "alice", HA1: md5a}}, ""},
		{"empty file", "", nil, ""},
		{"two fields", "alice:" + md5a + "\n", nil, "line 1: sip.auth.users_file: want \"name:realm:ha1\""},
		{"bad hash", "alice:parkd:" + md5a + "\nbob:parkd:xyz\n", nil, "line 2: sip.auth.users_file: user \"bob\": the hash must be 32 hex digits"},
		{"repeated user", "alice:parkd:" + md5a + "\nalice:parkd:" + md5a + "\n", nil, "line 2: sip.auth.users_file: user \"alice\" already has an MD5 hash on line 1"},
		{"quote in name", "a\"b:parkd:" + md5a + "\n", nil, "line 1: sip.auth.users_file: \"a\\\"b\" is not a user name"},
		{"empty name", ":parkd:" + md5a + "\n", nil, "line 1"},
		{"line too long", strings.Repeat("x", 2000) + "\n", nil, "line 1: sip.auth.users_file: line longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseUsersFile(strings.NewReader(tc.file), "parkd")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("user %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}
