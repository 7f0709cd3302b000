package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Bounds on sip.auth.users_file: one line is a user, a hash and a realm.
const (
	maxUsersFileLine  = 1024
	maxUsersFileUsers = 1_000_000
)

// AuthFileUsers reads sip.auth.users_file (none when unset): the users of
// sip.auth.realm, in Apache htdigest's "name:realm:ha1" format, where a
// 64-digit ha1 is SHA-256 and a 32-digit one MD5. Lines of other realms
// are skipped, so one file can serve several services; blank lines and
// lines starting with # are comments. A user may have one line per hash.
func (c Config) AuthFileUsers() ([]AuthUser, error) {
	path := ExpandHome(c.SIP.Auth.UsersFile)
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &ConfigError{Key: "sip.auth.users_file", Msg: fmt.Sprintf("%s: %v", path, err)}
	}
	defer f.Close()
	realm := c.SIP.Auth.Realm
	if realm == "" {
		realm = DefaultAuthRealm
	}
	users, err := parseUsersFile(f, realm)
	if err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) {
			ce.File = path
		}
		return nil, err
	}
	return users, nil
}

// parseUsersFile reads htdigest lines for realm; errors are *ConfigError
// with the line number.
func parseUsersFile(r io.Reader, realm string) ([]AuthUser, error) {
	fail := func(line int, format string, args ...any) error {
		return &ConfigError{Key: "sip.auth.users_file", Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256), maxUsersFileLine)
	var users []AuthUser
	seen := map[string]int{} // name+"/"+algorithm → line
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(string(bytes.TrimSuffix(sc.Bytes(), []byte("\r"))))
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		parts := strings.Split(text, ":")
		if len(parts) != 3 {
			return nil, fail(line, `want "name:realm:ha1" (Apache htdigest format), got %d fields`, len(parts))
		}
		name, lineRealm, ha1 := parts[0], parts[1], strings.ToLower(parts[2])
		if lineRealm != realm {
			continue
		}
		if name == "" || strings.ContainsAny(name, "\" \t\\") {
			return nil, fail(line, "%q is not a user name (no quotes, spaces or backslashes)", name)
		}
		u := AuthUser{Name: name}
		alg := "MD5"
		switch {
		case isHex(ha1, 32):
			u.HA1 = ha1
		case isHex(ha1, 64):
			u.HA1SHA256, alg = ha1, "SHA-256"
		default:
			return nil, fail(line, "user %q: the hash must be 32 hex digits (MD5 of name:realm:password) or 64 (SHA-256)", name)
		}
		if prev, dup := seen[name+"/"+alg]; dup {
			return nil, fail(line, "user %q already has an %s hash on line %d", name, alg, prev)
		}
		seen[name+"/"+alg] = line
		if len(users) == maxUsersFileUsers {
			return nil, fail(line, "more than %d users", maxUsersFileUsers)
		}
		users = append(users, u)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fail(line+1, "line longer than %d bytes", maxUsersFileLine)
		}
		return nil, fail(0, "%v", err)
	}
	return users, nil
}
